import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GeoState } from '../src/geo/types.ts';
import { IngestService, type IngestOptions } from '../src/ingest/ingest-service.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { FakeGeoIndex } from './fakes/geo-index.ts';
import { FakeStore } from './fakes/store.ts';

/**
 * IngestService against a fake Store and GeoIndex, on fake timers: every
 * flush, retry and backoff happens at an instant the test chooses, so these
 * tests are exact and take milliseconds.
 */

const FLUSH_MS = 50;

interface Harness {
  ingest: IngestService;
  store: FakeStore;
  geo: FakeGeoIndex;
  /** `[driverId, seq]` of every ack, in the order the transport would send them. */
  acks: Array<[number, number]>;
  metrics: ReturnType<typeof createMetrics>;
}

/** A geo health whose state the test sets, recording the failures ingest reports to it. */
function fakeHealth(state: GeoState = 'up'): IngestOptions['health'] & { state: GeoState; failures: Error[] } {
  const failures: Error[] = [];
  return { state, failures, reportFailure: (error) => failures.push(error) };
}

function harness(options: Partial<Pick<IngestOptions, 'batchMaxFrames' | 'pendingMaxFrames' | 'health'>> = {}, driverIds = [1, 2, 3]): Harness {
  const store = new FakeStore(driverIds.map((id) => ({ id, status: 'online' as const }))).holdWrites();
  const geo = new FakeGeoIndex();
  const acks: Array<[number, number]> = [];
  const metrics = createMetrics();
  const ingest = new IngestService({
    store: store.asStore(),
    geo,
    metrics,
    logger: createLogger('silent'),
    health: fakeHealth(),
    batchMaxFrames: 100,
    flushMs: FLUSH_MS,
    pendingMaxFrames: 1000,
    ...options,
  });
  ingest.acks.subscribe((driverId, seq) => acks.push([driverId, seq]));
  return { ingest, store, geo, acks, metrics };
}

const frame = (seq: number, lat = 40.75, lng = -73.98) => ({ t: 'loc' as const, seq, lat, lng });

/** Offers seqs `from..to` of one driver; returns each outcome. */
function offer(ingest: IngestService, driverId: number, from: number, to = from): string[] {
  const outcomes: string[] = [];
  for (let seq = from; seq <= to; seq++) outcomes.push(ingest.acceptLocation(driverId, frame(seq), Date.now()));
  return outcomes;
}

/** Lets promise callbacks and due timers run, moving the fake clock by `ms`. */
const elapse = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

async function counterValue(counter: { get(): Promise<{ values: Array<{ value: number; labels: object }> }> }, labels: object = {}): Promise<number> {
  const { values } = await counter.get();
  return values.find((entry) => Object.entries(labels).every(([key, value]) => (entry.labels as Record<string, unknown>)[key] === value))?.value ?? 0;
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batching and order', () => {
  it('flushes a lone frame after the flush interval and a full batch at once, and acks only once the batch is committed', async () => {
    const { ingest, store, acks } = harness({ batchMaxFrames: 4 });
    expect(offer(ingest, 1, 1)).toEqual(['queued']);
    await elapse(FLUSH_MS - 1);
    expect(store.writes).toHaveLength(0);
    await elapse(1);
    expect(store.writes).toHaveLength(1);
    expect(acks).toEqual([]);
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([[1, 1]]);

    // Four frames fill a batch: it goes without waiting for the interval.
    offer(ingest, 2, 1, 2);
    offer(ingest, 3, 1, 2);
    expect(store.writes).toHaveLength(2);
    expect(store.writes[1]).toMatchObject({ driverIds: [2, 2, 3, 3], seqs: [1, 2, 1, 2] });
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([
      [1, 1],
      [2, 2],
      [3, 2],
    ]);
  });

  it('keeps one batch in flight: frames queued behind it wait for its commit, then go in arrival order', async () => {
    const { ingest, store, acks } = harness({ batchMaxFrames: 3 });
    offer(ingest, 1, 1, 7);
    expect(store.writes.map((batch) => batch.seqs)).toEqual([[1, 2, 3]]);
    // However long the first batch takes, nothing behind it is written first.
    await elapse(10 * FLUSH_MS);
    expect(store.writes).toHaveLength(1);
    expect(ingest.pendingCount).toBe(7);

    store.held.shift()!.commit();
    await elapse();
    expect(store.writes.map((batch) => batch.seqs)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    store.held.shift()!.commit();
    await elapse(FLUSH_MS);
    store.held.shift()!.commit();
    await elapse();
    expect(store.writes.map((batch) => batch.seqs)).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(acks).toEqual([
      [1, 3],
      [1, 6],
      [1, 7],
    ]);
    expect(store.history).toEqual([1, 2, 3, 4, 5, 6, 7].map((seq) => [1, seq]));
    expect(ingest.pendingCount).toBe(0);
  });

  it('sends the latest status of a driver with the batch, and the index learns who went offline', async () => {
    const { ingest, store, geo, acks } = harness();
    ingest.acceptStatus(1, 'online', Date.now());
    offer(ingest, 1, 1);
    ingest.acceptStatus(2, 'online', Date.now());
    ingest.acceptStatus(2, 'offline', Date.now());
    await elapse(FLUSH_MS);
    expect(store.writes[0]).toMatchObject({ driverIds: [1], statusDriverIds: [1, 2], statuses: ['online', 'offline'] });
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toContainEqual([1, 1]);
    // Neither driver had a position before (NaN): nothing to move out of, nowhere known to remove from but where the batch left it.
    expect(geo.applied).toEqual([
      {
        ids: [1],
        lats: [40.75],
        lngs: [-73.98],
        seenAtMs: [expect.any(Number)],
        previousLats: [Number.NaN],
        previousLngs: [Number.NaN],
        removeIds: [2, 2],
        removeLats: [Number.NaN, Number.NaN],
        removeLngs: [Number.NaN, Number.NaN],
        // As of its status change: an older upsert arriving later is refused.
        removeSeenAtMs: [expect.any(Number), expect.any(Number)],
      },
    ]);
  });
});

describe('resends', () => {
  it('answers a resend of a committed frame with an ack at once and never writes it again', async () => {
    const { ingest, store, acks, metrics } = harness();
    // The driver's hello said 10 was durable; its app resends from 9.
    ingest.registerDriver(1, 10);
    expect(offer(ingest, 1, 9, 11)).toEqual(['duplicate', 'duplicate', 'queued']);
    expect(acks).toEqual([
      [1, 10],
      [1, 10],
    ]);
    expect(ingest.pendingCount).toBe(1);
    expect(await counterValue(metrics.duplicateFrames)).toBe(2);
    await elapse(FLUSH_MS);
    expect(store.writes.map((batch) => batch.seqs)).toEqual([[11]]);
  });

  it('lets the batch ack cover a resend of a frame still in flight, so it is acked once and written once', async () => {
    const { ingest, store, acks } = harness();
    offer(ingest, 1, 1, 2);
    await elapse(FLUSH_MS);
    expect(offer(ingest, 1, 2)).toEqual(['duplicate']);
    expect(acks).toEqual([]);
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([[1, 2]]);
    expect(store.history).toEqual([
      [1, 1],
      [1, 2],
    ]);
    expect(store.writes).toHaveLength(1);
  });
});

describe('overload', () => {
  it('refuses frames past the pending bound, and every later seq of that driver until the refused one is resent', async () => {
    const { ingest, store, acks } = harness({ pendingMaxFrames: 3 });
    expect(offer(ingest, 1, 1, 3)).toEqual(['queued', 'queued', 'queued']);
    expect(offer(ingest, 2, 1)).toEqual(['overloaded']);
    expect(ingest.acceptStatus(3, 'online', Date.now())).toBe('overloaded');

    await elapse(FLUSH_MS);
    store.held.shift()!.commit();
    await elapse();
    expect(ingest.pendingCount).toBe(0);
    // Room again, but seq 2 would let the ack claim the refused seq 1.
    expect(offer(ingest, 2, 2)).toEqual(['overloaded']);
    expect(offer(ingest, 2, 1, 2)).toEqual(['queued', 'queued']);
    await elapse(FLUSH_MS);
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([
      [1, 3],
      [2, 2],
    ]);
    expect(store.history.filter(([driverId]) => driverId === 2)).toEqual([
      [2, 1],
      [2, 2],
    ]);
  });

  it('treats a frame refused before ingest (rate limit) the same way, until the driver resends it or reconnects', async () => {
    const { ingest, store } = harness();
    offer(ingest, 1, 1, 2);
    ingest.refuseLocation(1, 3);
    expect(offer(ingest, 1, 4)).toEqual(['overloaded']);
    expect(offer(ingest, 1, 3, 4)).toEqual(['queued', 'queued']);

    offer(ingest, 2, 1);
    ingest.refuseLocation(2, 2);
    expect(offer(ingest, 2, 3)).toEqual(['overloaded']);
    // A new socket's hello tells the driver to resend from its durable seq: the refusal is forgotten.
    ingest.registerDriver(2, 0);
    expect(offer(ingest, 2, 2, 3)).toEqual(['queued', 'queued']);

    await elapse(FLUSH_MS);
    expect(store.writes[0]).toMatchObject({ driverIds: [1, 1, 1, 1, 2, 2, 2], seqs: [1, 2, 3, 4, 1, 2, 3] });
  });
});

describe('store failures', () => {
  it('holds a batch whose commit failed and retries it as is, with growing backoff, before anything queued behind it', async () => {
    const { ingest, store, acks, metrics } = harness();
    offer(ingest, 1, 1, 2);
    await elapse(FLUSH_MS);
    store.held.shift()!.fail();
    await elapse();
    expect(acks).toEqual([]);
    expect(await counterValue(metrics.storeErrors, { op: 'write_batch' })).toBe(1);

    // Queued behind the failed batch: must not overtake it.
    offer(ingest, 1, 3);
    await elapse(99);
    expect(store.writes).toHaveLength(1);
    await elapse(1);
    expect(store.writes.map((batch) => batch.seqs)).toEqual([
      [1, 2],
      [1, 2],
    ]);
    store.held.shift()!.fail();
    await elapse(199);
    expect(store.writes).toHaveLength(2);
    await elapse(1);
    expect(store.writes).toHaveLength(3);
    expect(store.writes[2]!.seqs).toEqual([1, 2]);
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([[1, 2]]);

    // The frame that waited goes next, and the backoff is back to its start.
    await elapse(FLUSH_MS);
    expect(store.writes[3]!.seqs).toEqual([3]);
    store.held.shift()!.fail();
    await elapse(100);
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([
      [1, 2],
      [1, 3],
    ]);
    expect(store.history).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
  });

  it('acks a batch whose first commit landed but whose reply was lost, without writing it twice', async () => {
    const { ingest, store, acks } = harness();
    offer(ingest, 1, 1, 2);
    await elapse(FLUSH_MS);
    store.held.shift()!.commitThenFail();
    await elapse(100);
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([[1, 2]]);
    expect(store.history).toEqual([
      [1, 1],
      [1, 2],
    ]);
  });

  it('lets drain wait through failures until the frames are committed, and stop leave them unacked', async () => {
    const { ingest, store, acks } = harness();
    offer(ingest, 1, 1);
    let drained = false;
    const draining = ingest.drain().then(() => (drained = true));
    // drain flushes at once, without waiting for the interval.
    expect(store.writes).toHaveLength(1);
    store.held.shift()!.fail();
    await elapse(100);
    expect(drained).toBe(false);
    store.held.shift()!.commit();
    await draining;
    expect(acks).toEqual([[1, 1]]);

    offer(ingest, 1, 2);
    await elapse(FLUSH_MS);
    store.held.shift()!.fail();
    ingest.stop();
    await elapse(60_000);
    expect(store.writes).toHaveLength(3);
    expect(acks).toEqual([[1, 1]]);
    expect(ingest.pendingCount).toBe(1);
  });
});

describe('geo index writes', () => {
  it('never holds an ack back: a failing index write is reported, and the next batch still commits', async () => {
    const health = fakeHealth();
    const failures = health.failures;
    const { ingest, store, geo, acks, metrics } = harness({ health });
    geo.failApply(new Error('redis connection lost'));
    offer(ingest, 1, 1);
    await elapse(FLUSH_MS);
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([[1, 1]]);
    expect(failures.map((error) => error.message)).toEqual(['redis connection lost']);
    expect(await counterValue(metrics.geoErrors, { op: 'apply' })).toBe(1);

    offer(ingest, 1, 2);
    await elapse(FLUSH_MS);
    store.held.shift()!.commit();
    await elapse();
    expect(acks).toEqual([
      [1, 1],
      [1, 2],
    ]);
  });

  it('skips index writes while the index is known to be down', async () => {
    const health = fakeHealth('down');
    const { ingest, store, geo } = harness({ health });
    offer(ingest, 1, 1);
    await elapse(FLUSH_MS);
    store.held.shift()!.commit();
    await elapse();
    expect(geo.applied).toEqual([]);

    health.state = 'up';
    offer(ingest, 1, 2, 3);
    await elapse(FLUSH_MS);
    store.held.shift()!.commit();
    await elapse();
    // The write carries where the skipped one left the driver, so a cell-split index moves it out of there.
    expect(geo.applied).toEqual([
      {
        ids: [1],
        lats: [40.75],
        lngs: [-73.98],
        seenAtMs: [expect.any(Number)],
        previousLats: [40.75],
        previousLngs: [-73.98],
        removeIds: [],
        removeLats: [],
        removeLngs: [],
        removeSeenAtMs: [],
      },
    ]);
  });
});
