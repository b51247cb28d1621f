import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMemoryIndex } from '../src/geo/memory-index.ts';
import { createRedisIndex, type RedisGeoIndex } from '../src/geo/redis-index.ts';
import type { GeoIndex } from '../src/geo/types.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { GeoHealth } from '../src/geo/geo-health.ts';
import { nearestFromSql, NearbyService, type NearbyCriteria } from '../src/nearby/nearby-service.ts';
import { ProfileCache } from '../src/nearby/profile-cache.ts';
import { VEHICLE_TYPES } from '../src/domain/driver.ts';
import type { NearbyDriver } from '../src/protocol/messages.ts';
import type { NewDriver } from '../src/domain/driver.ts';
import { createPostgresStore } from '../src/store/postgres.ts';
import type { Store } from '../src/store/types.ts';
import { repairIndex } from '../src/sync/index-repair.ts';
import { withDb } from './support/fleet.ts';
import { cellOf } from '../src/geo/cells.ts';
import { indexChangesOf } from '../src/ingest/index-changes.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../tools/testkit/redis-cluster.ts';

/**
 * The four sources of a nearby answer — the cell-split Redis index on one
 * Redis and on a 3-master Redis Cluster, the in-process index and the SQL
 * fallback — must give the same list for the same fleet: random fleets
 * (clustered, with duplicate positions and equal ratings to provoke ties,
 * spread over dozens of cells) and random queries, before and after some
 * drivers move, many of them across cell boundaries.
 */
const logger = createLogger('silent');
let db: PrivateDatabase;
let store: Store;
let redis: RedisGeoIndex;
let cluster: PrivateRedisCluster;
let clustered: RedisGeoIndex;
const prefix = uniquePrefix('parity');

beforeAll(async () => {
  db = await createPrivateDatabase();
  store = createPostgresStore({ url: db.url, poolSize: 4 });
  await store.migrate();
  // Deadlines far above any honest reply: this test checks answers, and the machine may be loaded.
  redis = createRedisIndex({ url: SHARED_REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 30_000 });
  await redis.connect();
  cluster = await startPrivateRedisCluster(3);
  clustered = createRedisIndex({ clusterNodes: cluster.nodes, keyPrefix: prefix, commandTimeoutMs: 30_000 });
  await clustered.connect();
});
afterAll(async () => {
  await Promise.allSettled([redis?.close(), clustered?.close()]);
  await store.close();
  await Promise.all([db.drop(), dropPrefix(prefix), cluster?.stop()]);
});

const CENTER = { lat: 40.7589, lng: -73.9851 };
const offset = fc.double({ min: -0.08, max: 0.08, noNaN: true });

const driverArb = fc.record({
  dLat: offset,
  dLng: offset,
  vehicleType: fc.constantFrom(...VEHICLE_TYPES),
  // One decimal, as real ratings: equal ratings are common.
  rating: fc.integer({ min: 10, max: 50 }).map((r) => r / 10),
  status: fc.constantFrom<NewDriver['status']>('online', 'online', 'online', 'offline', 'busy'),
});

const fleetArb = fc
  .array(driverArb, { minLength: 0, maxLength: 250 })
  // Copy some positions so exact distance ties occur.
  .chain((drivers) =>
    fc.array(fc.nat({ max: Math.max(0, drivers.length - 1) }), { maxLength: Math.min(20, drivers.length) }).map((copies) => {
      const fleet = [...drivers];
      for (const index of copies) if (fleet[index]) fleet.push({ ...fleet[index], rating: 4.5 });
      return fleet;
    }),
  );

const queryArb: fc.Arbitrary<NearbyCriteria> = fc.record(
  {
    lat: offset.map((d) => CENTER.lat + d),
    lng: offset.map((d) => CENTER.lng + d),
    radiusKm: fc.oneof(fc.double({ min: 0.05, max: 50, noNaN: true }), fc.constantFrom(1, 5, 50)),
    limit: fc.integer({ min: 1, max: 100 }),
    vehicleType: fc.constantFrom(...VEHICLE_TYPES),
    minRating: fc.integer({ min: 10, max: 50 }).map((r) => r / 10),
  },
  { requiredKeys: ['lat', 'lng', 'radiusKm', 'limit'] },
);

function serviceOver(geo: GeoIndex, profiles: ProfileCache): NearbyService {
  const metrics = createMetrics();
  const health = new GeoHealth({ probeIntervalMs: 1000, probe: () => geo.ping(), repair: async () => undefined, logger });
  return new NearbyService({ geo, store, profiles, health, metrics, logger, staleAfterMs: 3_600_000 });
}

async function loadFleet(fleet: Array<{ dLat: number; dLng: number } & Omit<NewDriver, 'lat' | 'lng' | 'name' | 'phone' | 'totalRides'>>) {
  await withDb(db.url, (client) => client.query('TRUNCATE drivers RESTART IDENTITY CASCADE'));
  await store.insertDrivers(
    fleet.map((d, i) => ({
      name: `driver ${i}`,
      phone: `+1-212-555-${String(i).padStart(4, '0')}`,
      vehicleType: d.vehicleType,
      rating: d.rating,
      totalRides: 0,
      status: d.status,
      lat: CENTER.lat + d.dLat,
      lng: CENTER.lng + d.dLng,
    })),
  );
  const memory = createMemoryIndex();
  await repairIndex(store, redis, 3_600_000, logger);
  await repairIndex(store, clustered, 3_600_000, logger);
  await repairIndex(store, memory, 3_600_000, logger);
  const profiles = new ProfileCache(store, 3_600_000, logger);
  await profiles.refresh();
  return { memory, profiles };
}

/** Equal lists, except that drivers at exactly equal distance may swap among themselves. */
function expectSameRanking(actual: NearbyDriver[], expected: NearbyDriver[]) {
  expect(actual.map((d) => d.distanceKm)).toEqual(expected.map((d) => d.distanceKm));
  const groups = (list: NearbyDriver[]) => {
    const byDistance = new Map<number, number[]>();
    for (const d of list) byDistance.set(d.distanceKm, [...(byDistance.get(d.distanceKm) ?? []), d.id].sort());
    return byDistance;
  };
  expect(groups(actual)).toEqual(groups(expected));
}

/** Moves some drivers one frame each through the real batch statement, and writes the index change ingest would. */
async function moveDrivers(moves: Array<{ driver: number; dLat: number; dLng: number }>, indexes: GeoIndex[]): Promise<number> {
  const ids = await withDb(db.url, async (client) => (await client.query<{ id: number }>('SELECT id FROM drivers ORDER BY id')).rows.map((row) => row.id));
  const moved = new Map<number, { dLat: number; dLng: number }>();
  for (const move of moves) if (ids.length > 0) moved.set(ids[move.driver % ids.length]!, move);
  if (moved.size === 0) return 0;
  const rows = await withDb(
    db.url,
    async (client) =>
      (
        await client.query<{ id: number; lat: number; lng: number; last_seq: string }>('SELECT id, lat, lng, last_seq FROM drivers WHERE id = ANY($1)', [
          [...moved.keys()],
        ])
      ).rows,
  );
  const now = Date.now();
  const committed = await store.writeBatch({
    driverIds: rows.map((row) => row.id),
    seqs: rows.map((row) => Number(row.last_seq) + 1),
    lats: rows.map((row) => row.lat + moved.get(row.id)!.dLat),
    lngs: rows.map((row) => row.lng + moved.get(row.id)!.dLng),
    recordedAtMs: rows.map(() => now),
    receivedAtMs: rows.map(() => now),
    statusDriverIds: [],
    statuses: [],
  });
  for (const index of indexes) await index.apply(indexChangesOf(committed));
  // Online drivers that crossed into another cell: the moves this test is about.
  return committed.filter((d) => d.status === 'online' && cellOf(d.previousLat!, d.previousLng!) !== cellOf(d.lat!, d.lng!)).length;
}

// Steps of up to 0.06°, more than a cell's 0.044° side, so many moves cross a boundary (integers: fast-check's doubles crowd near 0).
const step = fc.integer({ min: -600, max: 600 }).map((tenThousandths) => tenThousandths / 10_000);
const moveArb = fc.array(fc.record({ driver: fc.nat(), dLat: step, dLng: step }), { minLength: 5, maxLength: 60 });

it('Redis, Redis Cluster, the in-process index and the SQL fallback rank every random fleet the same, before and after drivers move across cells', async () => {
  let queriesChecked = 0;
  let nonEmptyAnswers = 0;
  let crossedCells = 0;
  await fc.assert(
    fc.asyncProperty(fleetArb, fc.array(queryArb, { minLength: 1, maxLength: 6 }), moveArb, async (fleet, queries, moves) => {
      const { memory, profiles } = await loadFleet(fleet);
      const viaRedis = serviceOver(redis, profiles);
      const viaCluster = serviceOver(clustered, profiles);
      const viaMemory = serviceOver(memory, profiles);
      const compare = async () => {
        for (const query of queries) {
          const fromRedis = await viaRedis.find(query);
          const fromCluster = await viaCluster.find(query);
          const fromMemory = await viaMemory.find(query);
          const fromSql = await nearestFromSql(store, query, 0);
          expect(fromRedis.source).toBe('redis');
          expect(fromCluster.source).toBe('redis');
          expect(fromMemory.source).toBe('memory');
          expectSameRanking(fromCluster.drivers, fromRedis.drivers);
          expectSameRanking(fromMemory.drivers, fromRedis.drivers);
          expectSameRanking(fromSql, fromRedis.drivers);
          // The ranking itself: nearest first, ties to the higher rating.
          for (let i = 1; i < fromRedis.drivers.length; i++) {
            const [a, b] = [fromRedis.drivers[i - 1]!, fromRedis.drivers[i]!];
            expect(a.distanceKm < b.distanceKm || (a.distanceKm === b.distanceKm && a.rating >= b.rating)).toBe(true);
          }
          queriesChecked++;
          if (fromRedis.drivers.length > 0) nonEmptyAnswers++;
        }
      };
      await compare();
      crossedCells += await moveDrivers(moves, [redis, clustered, memory]);
      await compare();
    }),
    // A failure is reported (shrunk as far as time allowed) well before the test's own deadline.
    { numRuns: 40, seed: Number(process.env.PARITY_SEED ?? Date.now() % 2 ** 31), interruptAfterTimeLimit: 180_000, markInterruptAsFailure: true },
  );
  expect(queriesChecked).toBeGreaterThan(80);
  expect(nonEmptyAnswers).toBeGreaterThan(20);
  expect(crossedCells).toBeGreaterThan(10);
  // Moves left no driver behind in its old cell: the index holds each driver once, where PostgreSQL has it.
  const held = await clustered.entries();
  expect(new Set(held.map((entry) => entry.id)).size).toBe(held.length);
}, 240_000);
