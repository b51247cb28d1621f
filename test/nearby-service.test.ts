import { afterEach, describe, expect, it } from 'vitest';
import { DeadlineExceededError } from '../src/deadline.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { GeoHealth, TIMEOUTS_BEFORE_DOWN } from '../src/geo/geo-health.ts';
import { NearbyService, nearestFromSql, type NearbyCriteria } from '../src/nearby/nearby-service.ts';
import { ProfileCache } from '../src/nearby/profile-cache.ts';
import type { VehicleType } from '../src/domain/driver.ts';
import { KM_PER_DEGREE_LAT, offsetKm } from '../src/domain/geo.ts';
import { FakeGeoIndex } from './fakes/geo-index.ts';
import { FakeStore, type FakeDriver } from './fakes/store.ts';

/**
 * NearbyService against a fake Store and GeoIndex: how it searches the index
 * (first radius, widening, fetching more), and when it answers from the
 * store instead. No servers; each test takes milliseconds.
 */

const STALE_AFTER_MS = 60_000;
const ORIGIN = { lat: 40.75, lng: -73.98 };

/** A point `km` due north of `from`: its great-circle distance is exactly `km`. */
const northOf = (from: { lat: number; lng: number }, km: number) => ({ lat: from.lat + km / KM_PER_DEGREE_LAT, lng: from.lng });

interface Harness {
  nearby: NearbyService;
  store: FakeStore;
  geo: FakeGeoIndex;
  health: GeoHealth;
  metrics: ReturnType<typeof createMetrics>;
}

const started: GeoHealth[] = [];
afterEach(() => {
  for (const health of started.splice(0)) health.stop();
});

/** Online drivers in both the store and the index, as after their frames were committed. */
async function harness(drivers: FakeDriver[]): Promise<Harness> {
  const store = new FakeStore(drivers.map((driver) => ({ status: 'online' as const, ...driver })));
  const geo = new FakeGeoIndex();
  await geo.put(drivers.filter((driver) => driver.lat != null && driver.lng != null) as Array<{ id: number; lat: number; lng: number }>);
  const logger = createLogger('silent');
  const metrics = createMetrics();
  // The probe never succeeds: these tests are about leaving the index, not coming back to it.
  const health = new GeoHealth({ probeIntervalMs: 60_000, probe: () => Promise.reject(new Error('unreachable')), repair: async () => undefined, logger });
  started.push(health);
  const profiles = new ProfileCache(store.asStore(), 60_000, logger);
  const nearby = new NearbyService({ geo, store: store.asStore(), profiles, health, metrics, logger, staleAfterMs: STALE_AFTER_MS });
  return { nearby, store, geo, health, metrics };
}

const query = (criteria: Partial<NearbyCriteria> = {}): NearbyCriteria => ({ ...ORIGIN, radiusKm: 5, limit: 10, ...criteria });

/** What the store's own indexed query answers: the reference every index answer must equal. */
const fromStore = (store: FakeStore, criteria: NearbyCriteria) => nearestFromSql(store.asStore(), criteria, Date.now() - STALE_AFTER_MS);

async function counterValue(counter: { get(): Promise<{ values: Array<{ value: number; labels: object }> }> }, labels: object): Promise<number> {
  const { values } = await counter.get();
  return values.find((entry) => Object.entries(labels).every(([key, value]) => (entry.labels as Record<string, unknown>)[key] === value))?.value ?? 0;
}

/** Drivers due north of `from` at the given distances, ids from `firstId`. */
function ring(from: { lat: number; lng: number }, distancesKm: number[], firstId: number, extra: Partial<FakeDriver> = {}): FakeDriver[] {
  return distancesKm.map((km, index) => ({ id: firstId + index, ...northOf(from, km), ...extra }));
}

describe('searching the index', () => {
  it('ranks by great-circle distance, then rating, then id, and leaves out drivers whose profile is not online or does not match', async () => {
    const drivers: FakeDriver[] = [
      { id: 1, ...northOf(ORIGIN, 0.3), rating: 4.2 },
      // Same spot: higher rating first, then lower id.
      { id: 4, ...northOf(ORIGIN, 0.2), rating: 4.9 },
      { id: 3, ...northOf(ORIGIN, 0.2), rating: 4.9 },
      { id: 2, ...northOf(ORIGIN, 0.2), rating: 4.0 },
      // In the index, but busy by its profile.
      { id: 5, ...northOf(ORIGIN, 0.1), status: 'busy' },
      { id: 6, ...northOf(ORIGIN, 0.4), vehicleType: 'van', rating: 4.8 },
      { id: 7, ...northOf(ORIGIN, 6) },
    ];
    const { nearby, store } = await harness(drivers);
    const all = await nearby.find(query());
    expect(all.source).toBe('redis');
    expect(all.drivers.map((driver) => driver.id)).toEqual([3, 4, 2, 1, 6]);
    expect(all.drivers[0]!.distanceKm).toBeCloseTo(0.2, 6);

    expect((await nearby.find(query({ vehicleType: 'van' as VehicleType }))).drivers.map((driver) => driver.id)).toEqual([6]);
    expect((await nearby.find(query({ minRating: 4.5 }))).drivers.map((driver) => driver.id)).toEqual([3, 4, 6]);
    expect((await nearby.find(query({ limit: 2 }))).drivers.map((driver) => driver.id)).toEqual([3, 4]);
    expect(store.nearestQueries).toEqual([]);
  });

  it('starts with a small circle where the fleet is dense, and widens it to the full radius where it is sparse', async () => {
    const dense = ORIGIN;
    // 24 km east: out of reach of every query around `dense`.
    const sparse = offsetKm(ORIGIN, 0, 24);
    const { nearby, store, geo } = await harness([
      ...ring(dense, [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6], 1),
      ...ring(sparse, [3, 3.5, 4, 4.5, 5.5], 100),
    ]);

    // The first answer teaches the service how far the 10th driver usually is.
    expect((await nearby.find(query())).drivers).toHaveLength(10);
    geo.searches.length = 0;
    expect((await nearby.find(query())).drivers).toHaveLength(10);
    expect(geo.searches).toHaveLength(1);
    expect(geo.searches[0]!.radiusKm).toBeLessThan(2);

    geo.searches.length = 0;
    const far = await nearby.find(query(sparse));
    expect(far.drivers.map((driver) => driver.id)).toEqual([100, 101, 102, 103]);
    expect(far.drivers).toEqual(await fromStore(store, query(sparse)));
    const radii = geo.searches.map((search) => search.radiusKm);
    expect(radii.length).toBeGreaterThanOrEqual(2);
    expect(radii[0]).toBeLessThan(2);
    for (let index = 1; index < radii.length; index++) expect(radii[index]).toBeGreaterThan(radii[index - 1]!);
    // The last search covers the rider's whole radius (plus the index's distance slack), and no more.
    expect(radii.at(-1)).toBeGreaterThanOrEqual(5);
    expect(radii.at(-1)).toBeLessThan(5.01);
  });

  it('fetches more members when filters leave too few of the ones the index returned', async () => {
    // 60 economy cars nearest the rider; the three vans are behind them.
    const { nearby, store, geo } = await harness([
      ...ring(
        ORIGIN,
        Array.from({ length: 60 }, (_, index) => 0.01 * (index + 1)),
        1,
      ),
      ...ring(ORIGIN, [1, 1.5, 2], 100, { vehicleType: 'van' }),
    ]);
    const vans = query({ vehicleType: 'van' as VehicleType, limit: 3 });
    const answer = await nearby.find(vans);
    expect(answer.drivers.map((driver) => driver.id)).toEqual([100, 101, 102]);
    expect(answer.drivers).toEqual(await fromStore(store, vans));
    const counts = geo.searches.map((search) => search.count);
    expect(counts[0]).toBe(3 * 2 + 16);
    expect(counts.at(-1)).toBeGreaterThan(63);
    for (const search of geo.searches) expect(search.radiusKm).toBeCloseTo(5, 1);
  });
});

describe('falling back to the store', () => {
  const fleet = () => ring(ORIGIN, [0.5, 1, 1.5, 2, 2.5], 1);

  it('answers from the store, the same list, while the index is marked down, without touching the index', async () => {
    const { nearby, store, geo, health } = await harness(fleet());
    const fromIndex = await nearby.find(query());
    health.reportFailure(new Error('connection closed'), 'apply');
    geo.searches.length = 0;

    const fromSql = await nearby.find(query());
    expect(fromSql.source).toBe('sql');
    expect(fromSql.drivers).toEqual(fromIndex.drivers);
    expect(geo.searches).toEqual([]);
    expect(store.nearestQueries).toHaveLength(1);
    expect(store.nearestQueries[0]).toMatchObject({ ...ORIGIN, radiusKm: 5, limit: 10 });
  });

  it('answers the very query whose index search failed from the store, and marks the index down for the next ones', async () => {
    const { nearby, store, geo, health, metrics } = await harness(fleet());
    geo.failSearches(new Error('ECONNRESET'));
    const answer = await nearby.find(query());
    expect(answer.source).toBe('sql');
    expect(answer.drivers.map((driver) => driver.id)).toEqual([1, 2, 3, 4, 5]);
    expect(health.state).toBe('down');
    expect(await counterValue(metrics.geoErrors, { op: 'search' })).toBe(1);

    expect((await nearby.find(query())).source).toBe('sql');
    expect(geo.searches).toHaveLength(1);
    expect(store.nearestQueries).toHaveLength(2);
  });

  it('answers timed-out searches from the store but keeps using the index until timeouts come in a run', async () => {
    const { nearby, geo, health } = await harness(fleet());
    const timeout = () => new DeadlineExceededError('redis search', 250);
    for (let round = 0; round < 2; round++) {
      geo.failSearches(...Array.from({ length: TIMEOUTS_BEFORE_DOWN - 1 }, timeout));
      for (let index = 1; index < TIMEOUTS_BEFORE_DOWN; index++) expect((await nearby.find(query())).source).toBe('sql');
      expect(health.state).toBe('up');
      // An answer from the index breaks the run.
      expect((await nearby.find(query())).source).toBe('redis');
    }
    geo.failSearches(...Array.from({ length: TIMEOUTS_BEFORE_DOWN }, timeout));
    for (let index = 0; index < TIMEOUTS_BEFORE_DOWN; index++) expect((await nearby.find(query())).source).toBe('sql');
    expect(health.state).toBe('down');
  });

  it('goes to the store when the circle reaches past the latitudes the index can hold', async () => {
    const polar = { lat: 85, lng: 10 };
    const { nearby, store, geo } = await harness(ring(polar, [1, 20], 1));
    const answer = await nearby.find(query({ ...polar, radiusKm: 50 }));
    expect(answer.source).toBe('sql');
    expect(answer.drivers.map((driver) => driver.id)).toEqual([1, 2]);
    expect(geo.searches).toEqual([]);
    expect(store.nearestQueries).toHaveLength(1);
  });

  it('does not blame the index for a failing profile lookup: the query fails and reads stay on the index', async () => {
    const { nearby, store, health } = await harness(fleet());
    store.failGetDrivers(new Error('database unavailable'));
    await expect(nearby.find(query())).rejects.toThrow('database unavailable');
    expect(health.state).toBe('up');
    expect(store.nearestQueries).toEqual([]);
  });

  it('counts a failing store query and passes its error on', async () => {
    const { nearby, store, health, metrics } = await harness(fleet());
    health.reportFailure(new Error('connection closed'), 'apply');
    store.failNearest(new Error('statement timeout'));
    await expect(nearby.find(query())).rejects.toThrow('statement timeout');
    expect(await counterValue(metrics.storeErrors, { op: 'nearest' })).toBe(1);
  });
});
