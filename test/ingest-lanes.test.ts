import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMemoryIndex } from '../src/geo/memory-index.ts';
import { IngestService } from '../src/ingest/ingest-service.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { generateFleet, TIMES_SQUARE } from '../src/seed/fleet.ts';
import { createPostgresStore } from '../src/store/postgres.ts';
import type { LocationBatch, Store } from '../src/store/types.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';

const DRIVERS = 400;
const FRAMES_EACH = 30;

let db: PrivateDatabase;
let real: Store;
let ids: number[];

beforeAll(async () => {
  db = await createPrivateDatabase();
  real = createPostgresStore({ url: db.url, poolSize: 2, batchesInFlight: 2 });
  await real.migrate();
  ids = await real.insertDrivers([...generateFleet({ count: DRIVERS, seed: 9, center: TIMES_SQUARE, radiusKm: 5, onlineShare: 1 })]);
});
afterAll(async () => {
  await real.close();
  await db.drop();
});

it('keeps two batches in the database at once, never the same driver in both, and commits every driver in order', async () => {
  // The real store, watched: which drivers each running batch holds.
  const running = new Set<LocationBatch>();
  let mostAtOnce = 0;
  const overlaps: number[] = [];
  const store = Object.assign(Object.create(real) as Store, {
    async writeBatch(batch: LocationBatch) {
      const mine = new Set([...batch.driverIds, ...batch.statusDriverIds]);
      for (const other of running) for (const id of other.driverIds) if (mine.has(id)) overlaps.push(id);
      running.add(batch);
      mostAtOnce = Math.max(mostAtOnce, running.size);
      try {
        return await real.writeBatch(batch);
      } finally {
        running.delete(batch);
      }
    },
  });
  const acked = new Map<number, number[]>();
  const ingest = new IngestService({
    store,
    geo: createMemoryIndex(),
    health: { state: 'up', reportFailure: () => undefined },
    metrics: createMetrics(),
    logger: createLogger('silent'),
    batchMaxFrames: 500,
    flushMs: 20,
    pendingMaxFrames: 1_000_000,
    batchesInFlight: 2,
  });
  ingest.acks.subscribe((driverId, seq) => acked.set(driverId, [...(acked.get(driverId) ?? []), seq]));
  for (const id of ids) ingest.registerDriver(id, 0);
  for (let seq = 1; seq <= FRAMES_EACH; seq++) {
    for (const [index, id] of ids.entries()) {
      expect(ingest.acceptLocation(id, { t: 'loc', seq, lat: 40.7 + index * 1e-5, lng: -73.9 + seq * 1e-5 }, Date.now())).toBe('queued');
    }
    // Frames arrive over time, not all in one tick.
    if (seq % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await ingest.drain();

  expect(mostAtOnce).toBe(2);
  expect(overlaps).toEqual([]);
  const { rows } = await db.query<{ driver_id: number; seqs: string[]; last_seq: string }>(
    `SELECT l.driver_id, array_agg(l.seq ORDER BY l.seq) AS seqs, max(d.last_seq) AS last_seq
     FROM driver_locations l JOIN drivers d ON d.id = l.driver_id GROUP BY l.driver_id`,
  );
  expect(rows).toHaveLength(DRIVERS);
  const everySeq = Array.from({ length: FRAMES_EACH }, (_, index) => String(index + 1));
  for (const row of rows) {
    // A frame committed after a later one would have been dropped by the seq guard: all present means in order.
    expect(row.seqs.map(String)).toEqual(everySeq);
    expect(Number(row.last_seq)).toBe(FRAMES_EACH);
  }
  for (const id of ids) {
    const seqs = acked.get(id)!;
    expect(seqs.at(-1)).toBe(FRAMES_EACH);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  }
  ingest.stop();
});
