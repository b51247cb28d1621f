import { afterAll, beforeAll, expect, it } from 'vitest';
import { cellOf } from '../src/geo/cells.ts';
import { createRedisIndex, type RedisGeoIndex } from '../src/geo/redis-index.ts';
import type { GeoChanges } from '../src/geo/types.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { scrapeMetrics } from './support/hub-metrics.ts';
import { readRedisIndex } from './support/index-check.ts';
import { connectAll, describeLagging, framePosition, RecordingDriver } from './support/recording-driver.ts';
import { createSeededDatabase } from './support/seeded-database.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';

const DRIVERS = 60;
const FRAME_EVERY_MS = 100;
const RECONCILE_INTERVAL_MS = 1000;
/** An index write issued before an ack has surely landed this long after the ack was seen (twice the hub's Redis deadline). */
const ACK_SETTLE_MS = 500;
/** Long enough for several reconcile passes to overlap the stream. */
const STREAM_FOR_MS = 5 * RECONCILE_INTERVAL_MS;
/** A hub process starts in the test (seconds, tens of seconds on a loaded box); every wait gives up on its own before this. */
const TEST_TIMEOUT_MS = 120_000;

let db: PrivateDatabase;
let ids: number[];
let hub: HubProcess | undefined;
let index: RedisGeoIndex | undefined;
const prefix = uniquePrefix('monotonic');
const directPrefix = uniquePrefix('monotonic-direct');

beforeAll(async () => {
  ({ db, ids } = await createSeededDatabase(DRIVERS));
});
afterAll(async () => {
  await killHubProcess(hub);
  await index?.close();
  await Promise.allSettled([db.drop(), dropPrefix(prefix), dropPrefix(directPrefix)]);
});

/** The seq a test driver's frame was at, recovered from its position (framePosition is linear in seq). */
function seqAt(driverId: number, lat: number): number {
  return Math.round((lat - framePosition(driverId, 0).lat) / 1e-5);
}

it(
  'a streaming fleet with a 1 s reconcile never finds a driver indexed at a position older than its last acked frame, and /metrics reports the passes',
  async () => {
    hub = await startHubProcess(
      {
        DATABASE_URL: db.url,
        REDIS_URL: SHARED_REDIS_URL,
        REDIS_KEY_PREFIX: prefix,
        STALE_AFTER_MS: '600000',
        RECONCILE_INTERVAL_MS: String(RECONCILE_INTERVAL_MS),
      },
      'monotonic',
    );
    const drivers = ids.map((id) => new RecordingDriver(id));
    await connectAll(drivers, hub.wsUrl(''));
    const streamer = setInterval(() => {
      for (const driver of drivers) driver.sendNext();
    }, FRAME_EVERY_MS);
    // The check reads the index cell by cell, not at one instant: a driver crossing into another cell
    // between two cell reads could look absent or doubled. The drivers whose frames all stay in one
    // cell over the run are checked (moves across cells: the second test).
    const lastSeq = 2 * (STREAM_FOR_MS / FRAME_EVERY_MS);
    const checked = drivers.filter((driver) => {
      const [first, last] = [framePosition(driver.id, 1), framePosition(driver.id, lastSeq)];
      return cellOf(first.lat, first.lng) === cellOf(last.lat, last.lng);
    });
    expect(checked.length).toBeGreaterThan(DRIVERS / 2);
    const older: string[] = [];
    let samples = 0;
    try {
      // An ack leaves the hub once its index write is issued, not applied: on a busy box the write can
      // reach Redis a little after the ack reaches us. So each read is held to the acks seen at least
      // ACK_SETTLE_MS before it began. Independently of acks, an indexed position must never go back
      // between two reads: each checked driver lives in one cell, which a read sees at one instant.
      const ackHistory: Array<{ at: number; acks: Map<number, number> }> = [];
      const lastIndexed = new Map<number, number>();
      const until = Date.now() + STREAM_FOR_MS;
      while (Date.now() < until) {
        const readAt = performance.now();
        ackHistory.push({ at: readAt, acks: new Map(drivers.map((driver) => [driver.id, driver.lastAck])) });
        while (ackHistory.length > 1 && ackHistory[1]!.at <= readAt - ACK_SETTLE_MS) ackHistory.shift();
        const coveredAcks = ackHistory[0]!.at <= readAt - ACK_SETTLE_MS ? ackHistory[0]!.acks : new Map<number, number>();
        const indexed = await readRedisIndex(SHARED_REDIS_URL, prefix);
        samples++;
        for (const driver of checked) {
          const held = indexed.get(driver.id);
          const at = held ? seqAt(driver.id, held.lat) : undefined;
          // The seeded position is no frame of the stream.
          const seq = at !== undefined && at >= 1 && at <= driver.lastSent ? at : undefined;
          const acked = coveredAcks.get(driver.id) ?? 0;
          const before = lastIndexed.get(driver.id);
          if (acked > 0 && (seq === undefined || seq < acked)) older.push(`driver ${driver.id}: acked seq ${acked}, indexed ${seq ?? 'nowhere'}`);
          if (seq !== undefined && before !== undefined && seq < before) older.push(`driver ${driver.id}: indexed seq ${seq} after ${before}`);
          if (seq !== undefined) lastIndexed.set(driver.id, Math.max(before ?? seq, seq));
        }
      }
    } finally {
      clearInterval(streamer);
    }
    expect(samples).toBeGreaterThan(3);
    expect(older.slice(0, 10)).toEqual([]);
    expect(
      drivers.every((driver) => driver.lastAck > 0),
      describeLagging(drivers),
    ).toBe(true);

    // The incremental passes ran and said what they cost.
    await expect
      .poll(async () => (await scrapeMetrics(hub!))('hub_reconcile_pass_seconds_count{pass="incremental"}'), { timeout: 10_000, interval: 200 })
      .toBeGreaterThanOrEqual(3);
    const metrics = await scrapeMetrics(hub);
    expect(metrics('hub_reconcile_index_seconds_count{pass="incremental"}')).toBeGreaterThanOrEqual(3);
    expect(metrics('hub_reconcile_drivers_checked_total{pass="incremental"}')).toBeGreaterThanOrEqual(DRIVERS);
    const text = await (await fetch(hub.httpUrl('/metrics'))).text();
    expect(text).toContain('hub_reconcile_drivers_repaired_total{pass="incremental"}');
    for (const driver of drivers) driver.close();
  },
  TEST_TIMEOUT_MS,
);

it('the Redis index refuses a write older than what it holds, in the same cell and after a move to another cell', async () => {
  index = createRedisIndex({ url: SHARED_REDIS_URL, keyPrefix: directPrefix, commandTimeoutMs: 5000 });
  await index.connect();
  const here = { lat: 40.75, lng: -73.99 };
  const across = { lat: 40.85, lng: -73.8 };
  expect(cellOf(here.lat, here.lng)).not.toBe(cellOf(across.lat, across.lng));
  const upsert = (id: number, at: { lat: number; lng: number }, seenAtMs: number, previous?: { lat: number; lng: number }): GeoChanges => ({
    ids: [id],
    lats: [at.lat],
    lngs: [at.lng],
    seenAtMs: [seenAtMs],
    previousLats: [previous?.lat ?? Number.NaN],
    previousLngs: [previous?.lng ?? Number.NaN],
    removeIds: [],
  });
  const positionOf = async (id: number) => {
    const held = (await readRedisIndex(SHARED_REDIS_URL, directPrefix)).get(id);
    return held && { lat: held.lat, lng: held.lng, cells: held.cells.length };
  };
  const nudged = { lat: here.lat + 0.001, lng: here.lng };

  expect(await index.apply(upsert(1, here, 2000))).toBe(1);
  // Same cell, older: refused.
  expect(await index.apply(upsert(1, nudged, 1000))).toBe(0);
  expect(await positionOf(1)).toEqual({ ...here, cells: 1 });

  // Moved to another cell at 3000 (the old cell keeps a tombstone); a reconcile's row from 2500 in the old cell comes late.
  expect(await index.apply(upsert(1, across, 3000, here))).toBe(2);
  expect(await index.apply(upsert(1, nudged, 2500))).toBe(0);
  expect(await positionOf(1)).toEqual({ ...across, cells: 1 });

  // Gone offline at 4000: a late upsert from before is refused, a later frame is not.
  expect(
    await index.apply({
      ids: [],
      lats: [],
      lngs: [],
      seenAtMs: [],
      removeIds: [1],
      removeLats: [across.lat],
      removeLngs: [across.lng],
      removeSeenAtMs: [4000],
    }),
  ).toBe(1);
  expect(await index.apply(upsert(1, across, 3500))).toBe(0);
  expect(await positionOf(1)).toBeUndefined();
  expect(await index.apply(upsert(1, across, 5000))).toBe(1);
  expect(await positionOf(1)).toEqual({ ...across, cells: 1 });

  // The stale sweep takes tombstones too, and reports only members.
  expect(await index.removeStale(4500)).toEqual([]);
  expect(await index.removeStale(5000)).toEqual([1]);
});
