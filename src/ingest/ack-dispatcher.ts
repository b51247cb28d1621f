import { performance } from 'node:perf_hooks';
import type { BucketHistogram } from '../telemetry/bucket-histogram.ts';
import type { DriverSeqs } from './driver-seqs.ts';
import type { PendingBatch } from './pending-batch.ts';

/** Where acknowledgements go: the transport implements it, so ingest never touches a socket. */
export interface AckSink {
  ack(driverId: number, seq: number): void;
}

export interface AckMetrics {
  /** Frame received → its ack sent, in seconds, per frame. */
  latency: BucketHistogram;
  /** How long each synchronous run of acks held the event loop, in seconds. */
  slices: BucketHistogram;
  /** Frames whose ack went out. */
  framesAcked: { inc(count: number): void };
}

interface Job {
  batch: PendingBatch;
  stamp: number;
  /** Next frame to ack; then the status-only drivers. */
  cursor: number;
  statusIds: number[];
  statusCursor: number;
}

/**
 * Acknowledges committed batches without holding the event loop: acks go
 * out in slices of at most `sliceMs`, each slice yielding to socket I/O
 * (setImmediate) before the next. At 2,000 drivers per batch a single
 * synchronous burst held the loop for tens of milliseconds, and every query
 * that arrived meanwhile waited for it. Frames are acked in arrival order,
 * each driver once per batch with its highest committed seq, and each
 * frame's time from receipt to ack is recorded.
 */
export class AckDispatcher {
  private readonly jobs: Job[] = [];
  private nextStamp = 1;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly continueLater = () => {
    this.scheduled = false;
    this.run();
  };

  constructor(
    private readonly sink: AckSink,
    private readonly seqs: ReadonlyMap<number, DriverSeqs>,
    private readonly metrics: AckMetrics,
    private readonly sliceMs: number,
  ) {}

  /** Acks every driver of a committed batch; the first slice runs now, the rest on later loop turns. */
  dispatch(batch: PendingBatch): void {
    this.jobs.push({ batch, stamp: this.nextStamp++, cursor: 0, statusIds: [...batch.statuses.keys()], statusCursor: 0 });
    if (!this.scheduled) this.run();
  }

  get idle(): boolean {
    return this.jobs.length === 0;
  }

  /** Resolves once every dispatched ack has gone out. */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private run(): void {
    const started = performance.now();
    const now = Date.now();
    const { sink, seqs } = this;
    const latency = this.metrics.latency;
    let acked = 0;
    let framesDone = 0;
    let outOfTime = false;
    const spend = () => {
      // Checked every 16 acks: reading the clock per ack would cost more than the check saves.
      if ((++acked & 15) === 0 && performance.now() - started >= this.sliceMs) outOfTime = true;
    };
    while (this.jobs.length > 0 && !outOfTime) {
      const job = this.jobs[0]!;
      const { driverIds, receivedAtMs } = job.batch;
      while (job.cursor < driverIds.length && !outOfTime) {
        const index = job.cursor++;
        const id = driverIds[index]!;
        const known = seqs.get(id);
        framesDone++;
        if (!known) continue; // the socket closed and nothing of it is pending: no one to ack
        if (known.ackedBatch !== job.stamp) {
          known.ackedBatch = job.stamp;
          sink.ack(id, known.committed);
          spend();
        }
        latency.observe((now - receivedAtMs[index]!) / 1000);
      }
      // A status frame is confirmed by the ack its driver gets for the batch, frames or not.
      while (job.cursor >= driverIds.length && job.statusCursor < job.statusIds.length && !outOfTime) {
        const id = job.statusIds[job.statusCursor++]!;
        const known = seqs.get(id);
        if (!known || known.ackedBatch === job.stamp) continue;
        known.ackedBatch = job.stamp;
        sink.ack(id, known.committed);
        spend();
      }
      if (job.cursor >= driverIds.length && job.statusCursor >= job.statusIds.length) this.jobs.shift();
    }
    if (framesDone > 0) this.metrics.framesAcked.inc(framesDone);
    this.metrics.slices.observe((performance.now() - started) / 1000);
    if (this.jobs.length > 0) {
      this.scheduled = true;
      setImmediate(this.continueLater);
      return;
    }
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
