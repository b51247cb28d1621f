import { TIMES_SQUARE } from '../src/public/fleet.ts';
import type { QueryShape } from './load/load-protocol.ts';

/** Every size and duration of one benchmark run. */
export interface BenchPlan {
  name: 'full' | 'quick';
  /** Load-generator processes; sockets are spread over them. */
  workers: number;
  /** Seeded drivers lie within this many km of Times Square. */
  fleetRadiusKm: number;
  /** Online drivers: the moving fleet, and the size of the first fallback comparison. */
  onlineDrivers: number;
  /** Offline drivers seeded on top, so the idle-connection phase has enough driver ids. */
  offlineDrivers: number;
  /** Online drivers in total for the large-fleet comparison (seeded on top before it). */
  largeFleetDrivers: number;
  /** Wait after seeding the large fleet, while the hubs' profile caches take it in. */
  largeFleetSettleMs: number;
  idleConnections: number;
  /** How long the hub settles before its baseline memory is read, and again once every idle socket is open. */
  idleSettleMs: number;
  connectConcurrency: number;
  /** Warm-up before each measured window, and the window itself. */
  warmupMs: number;
  measureMs: number;
  /** Shorter windows for the many small comparisons. */
  shortMeasureMs: number;
  driverHz: number;
  nearbyPerS: number;
  /**
   * The SQL fallback's fixed rate. It is the degraded mode (Redis down), a
   * fraction of the index's capacity on two shared cores: measured where it
   * is not saturated, so its latency is the query's and not a queue's.
   */
  fallbackPerS: number;
  riders: number;
  /** Live nearby subscriptions, the query's shape, held while the fleet moves... */
  subscriptions: number;
  /** ...this many per rider socket (the hub's SUBSCRIPTIONS_PER_RIDER is 4). */
  subscriptionsPerSocket: number;
  /** Dispatch storm: ride requests per second, one step each, until assignments stall... */
  stormRates: number[];
  /** ...each step this long (after a second of warm-up)... */
  stormStepMs: number;
  /** ...over this many rider sockets, each with one ride at a time. */
  stormRiders: number;
  /**
   * Ceilings: sockets and what each keeps in flight. The hub's per-connection
   * rate limits stay at their production defaults, so ceilings use enough
   * sockets that none of them goes over its own budget.
   */
  ceilingRidersPerWorker: number;
  /** Queries per second per ceiling socket at most: under the hub's default of 10. */
  ceilingQueryHz: number;
  /** Nearby queries each generator keeps outstanding at the ceiling. */
  ceilingQueriesInFlight: number;
  ceilingDrivers: number;
  ceilingFrameWindow: number;
  restConcurrencies: number[];
  httpReadConcurrency: number;
  storeCeilingMs: number;
  pgBatchRows: number;
  redisCeilingMembers: number;
  query: QueryShape;
}

const query = (spreadKm: number): QueryShape => ({
  centerLat: TIMES_SQUARE.lat,
  centerLng: TIMES_SQUARE.lng,
  spreadKm,
  radiusKm: 2,
  limit: 10,
});

export const FULL_PLAN: BenchPlan = {
  name: 'full',
  workers: 3,
  fleetRadiusKm: 15,
  onlineDrivers: 10_000,
  offlineDrivers: 5_000,
  largeFleetDrivers: 100_000,
  largeFleetSettleMs: 9_000,
  idleConnections: 15_000,
  idleSettleMs: 3_000,
  connectConcurrency: 200,
  warmupMs: 5_000,
  measureMs: 20_000,
  shortMeasureMs: 8_000,
  driverHz: 1,
  nearbyPerS: 1_000,
  fallbackPerS: 200,
  riders: 200,
  subscriptions: 1_000,
  subscriptionsPerSocket: 4,
  stormRates: [10, 25, 50, 100, 200, 400, 800],
  stormStepMs: 6_000,
  stormRiders: 2_000,
  ceilingRidersPerWorker: 1_500,
  ceilingQueryHz: 9,
  ceilingQueriesInFlight: 64,
  ceilingDrivers: 10_000,
  ceilingFrameWindow: 8,
  restConcurrencies: [8, 32, 128],
  httpReadConcurrency: 64,
  storeCeilingMs: 4_000,
  pgBatchRows: 2_000,
  redisCeilingMembers: 100_000,
  query: query(10),
};

/** A few seconds with small numbers: what CI runs so the benchmark cannot rot. */
export const QUICK_PLAN: BenchPlan = {
  name: 'quick',
  workers: 2,
  fleetRadiusKm: 15,
  onlineDrivers: 300,
  offlineDrivers: 100,
  largeFleetDrivers: 1_000,
  largeFleetSettleMs: 500,
  idleConnections: 400,
  idleSettleMs: 500,
  connectConcurrency: 50,
  warmupMs: 300,
  measureMs: 1_500,
  shortMeasureMs: 800,
  driverHz: 2,
  nearbyPerS: 20,
  fallbackPerS: 10,
  riders: 4,
  subscriptions: 20,
  subscriptionsPerSocket: 4,
  stormRates: [5, 10],
  stormStepMs: 800,
  stormRiders: 20,
  ceilingRidersPerWorker: 50,
  ceilingQueryHz: 9,
  ceilingQueriesInFlight: 8,
  ceilingDrivers: 300,
  ceilingFrameWindow: 2,
  restConcurrencies: [4, 16],
  httpReadConcurrency: 8,
  storeCeilingMs: 500,
  pgBatchRows: 100,
  redisCeilingMembers: 2_000,
  query: query(10),
};
