import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMemoryIndex } from '../src/geo/memory-index.ts';
import { createRedisIndex } from '../src/geo/redis-index.ts';
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
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';

/**
 * The three sources of a nearby answer — the Redis index, the in-process
 * index and the SQL fallback — must give the same list for the same fleet:
 * random fleets (clustered, with duplicate positions and equal ratings to
 * provoke ties) and random queries.
 */
const logger = createLogger('silent');
let db: PrivateDatabase;
let store: Store;
let redis: GeoIndex;
const prefix = uniquePrefix('parity');

beforeAll(async () => {
  db = await createPrivateDatabase();
  store = createPostgresStore({ url: db.url, poolSize: 4 });
  await store.migrate();
  redis = createRedisIndex({ url: SHARED_REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 5000 });
  await redis.connect();
});
afterAll(async () => {
  await redis.close();
  await store.close();
  await Promise.all([db.drop(), dropPrefix(prefix)]);
});

const CENTER = { lat: 40.7589, lng: -73.9851 };
const offset = fc.double({ min: -0.08, max: 0.08, noNaN: true });

const driverArb = fc.record({
  dLat: offset,
  dLng: offset,
  vehicleType: fc.constantFrom(...VEHICLE_TYPES),
  // One decimal, as real ratings: equal ratings are common.
  rating: fc.integer({ min: 10, max: 50 }).map((r) => r / 10),
  status: fc.constantFrom('online', 'online', 'online', 'offline', 'busy') as fc.Arbitrary<NewDriver['status']>,
});

const fleetArb = fc
  .array(driverArb, { minLength: 0, maxLength: 250 })
  // Copy some positions so exact distance ties occur.
  .chain((drivers) =>
    fc.array(fc.nat({ max: Math.max(0, drivers.length - 1) }), { maxLength: Math.min(20, drivers.length) }).map((copies) => {
      const fleet = [...drivers];
      for (const index of copies) if (fleet[index]) fleet.push({ ...fleet[index]!, rating: 4.5 });
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

it('Redis, the in-process index and the SQL fallback rank every random fleet the same', async () => {
  let queriesChecked = 0;
  let nonEmptyAnswers = 0;
  await fc.assert(
    fc.asyncProperty(fleetArb, fc.array(queryArb, { minLength: 1, maxLength: 6 }), async (fleet, queries) => {
      const { memory, profiles } = await loadFleet(fleet);
      const viaRedis = serviceOver(redis, profiles);
      const viaMemory = serviceOver(memory, profiles);
      for (const query of queries) {
        const fromRedis = await viaRedis.find(query);
        const fromMemory = await viaMemory.find(query);
        const fromSql = await nearestFromSql(store, query, 0);
        expect(fromRedis.source).toBe('redis');
        expect(fromMemory.source).toBe('memory');
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
    }),
    { numRuns: 40, seed: Number(process.env.PARITY_SEED ?? Date.now() % 2 ** 31) },
  );
  expect(queriesChecked).toBeGreaterThan(40);
  expect(nonEmptyAnswers).toBeGreaterThan(10);
}, 240_000);
