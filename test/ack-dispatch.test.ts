import { expect, it } from 'vitest';
import { AckDispatcher, type AckSink } from '../src/ingest/ack-dispatcher.ts';
import { newDriverSeqs, type DriverSeqs } from '../src/ingest/driver-seqs.ts';
import { PendingBatch } from '../src/ingest/pending-batch.ts';
import { BucketHistogram } from '../src/telemetry/bucket-histogram.ts';

/** An ack that costs what a corked socket write costs on a loaded machine. */
const ACK_COST_MS = 0.05;

function slowSink(sent: Array<[number, number]>): AckSink {
  return {
    ack(driverId, seq) {
      const until = performance.now() + ACK_COST_MS;
      while (performance.now() < until) {
        // the write syscall
      }
      sent.push([driverId, seq]);
    },
  };
}

function metrics() {
  return {
    latency: new BucketHistogram('ack_latency_seconds', 'test', [0.01, 0.1, 1]),
    slices: new BucketHistogram('ack_slice_seconds', 'test', [0.001, 0.002, 0.003, 0.004, 0.005, 0.01, 0.1]),
    framesAcked: {
      total: 0,
      inc(count: number) {
        this.total += count;
      },
    },
  };
}

it('acks 2,000 drivers in slices of about 2 ms that let other work run between them, each driver once with its committed seq', async () => {
  const seqs = new Map<number, DriverSeqs>();
  const batch = new PendingBatch();
  const receivedAt = Date.now() - 30;
  for (let id = 1; id <= 2000; id++) {
    seqs.set(id, { ...newDriverSeqs(0), committed: id % 7 === 0 ? 11 : 10, accepted: 11 });
    // Two frames for most drivers, interleaved as they arrive.
    batch.addLocation(id, 10, 40.7, -73.9, receivedAt, receivedAt);
  }
  for (let id = 1; id <= 2000; id += 2) batch.addLocation(id, 11, 40.7, -73.9, receivedAt, receivedAt);
  batch.addStatus(2001, 'offline', receivedAt);
  seqs.set(2001, newDriverSeqs(4));

  const sent: Array<[number, number]> = [];
  const measured = metrics();
  // Acks sent by the end of each slice: slice sizes in acks, which a loaded machine's preemption can only shrink.
  const sentBySliceEnd: number[] = [];
  const recordSlice = measured.slices.observe.bind(measured.slices);
  measured.slices.observe = (seconds: number) => {
    sentBySliceEnd.push(sent.length);
    recordSlice(seconds);
  };
  const dispatcher = new AckDispatcher(slowSink(sent), seqs, measured, 2);
  let otherWorkRanAfter = -1;
  dispatcher.dispatch(batch);
  const sentInFirstSlice = sent.length;
  setImmediate(() => {
    otherWorkRanAfter = sent.length;
  });
  await dispatcher.whenIdle();

  // 2,001 acks at 0.05 ms each is about 100 ms of work: it did not all run at once.
  expect(sentInFirstSlice).toBeGreaterThan(0);
  expect(sentInFirstSlice).toBeLessThan(2001);
  expect(otherWorkRanAfter).toBeGreaterThan(0);
  expect(otherWorkRanAfter).toBeLessThan(2001);
  const perSlice = sentBySliceEnd.map((total, index) => total - (sentBySliceEnd[index - 1] ?? 0));
  expect(perSlice.length).toBeGreaterThan(10);
  // No slice ran past its 2 ms budget by more than the 16 acks between two clock reads.
  expect(Math.max(...perSlice)).toBeLessThanOrEqual(2 / ACK_COST_MS + 16);

  expect(sent).toHaveLength(2001);
  expect(new Set(sent.map(([id]) => id)).size).toBe(2001);
  expect(sent.slice(0, 3)).toEqual([
    [1, 10],
    [2, 10],
    [3, 10],
  ]);
  expect(sent.find(([id]) => id === 7)).toEqual([7, 11]);
  expect(sent.at(-1)).toEqual([2001, 4]);
  // Every frame's receipt-to-ack time is recorded, about 30 ms here.
  expect(measured.latency.count).toBe(3000);
  expect(measured.framesAcked.total).toBe(3000);
});

it('acks batches in commit order and skips drivers whose socket is gone', async () => {
  const seqs = new Map<number, DriverSeqs>([[1, newDriverSeqs(3)]]);
  const first = new PendingBatch();
  first.addLocation(1, 3, 40.7, -73.9, Date.now(), Date.now());
  first.addLocation(2, 9, 40.7, -73.9, Date.now(), Date.now());
  const second = new PendingBatch();
  second.addLocation(1, 4, 40.7, -73.9, Date.now(), Date.now());
  const sent: Array<[number, number]> = [];
  const dispatcher = new AckDispatcher(slowSink(sent), seqs, metrics(), 2);
  dispatcher.dispatch(first);
  seqs.get(1)!.committed = 4;
  dispatcher.dispatch(second);
  await dispatcher.whenIdle();
  expect(sent).toEqual([
    [1, 3],
    [1, 4],
  ]);
});
