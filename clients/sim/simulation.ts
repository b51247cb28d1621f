import type { BackoffOptions } from '../lib/backoff.ts';
import { DEFAULT_OFFLINE, DriverClient, type OfflinePolicy } from './driver-client.ts';
import { DEFAULT_DRIVER_RIDES, type DriverRideOptions } from './driver-rides.ts';
import type { TokenProvider } from '../core/endpoints.ts';
import { DEFAULT_MOVEMENT, Vehicle, type MovementOptions } from './movement.ts';
import { createRng, deriveSeed } from '../../src/domain/random.ts';
import { RiderClient } from './rider-client.ts';
import { SimStats, type Summary } from './stats.ts';
import { StreetGrid, type StreetGridOptions } from './street-grid.ts';

export interface SimulationOptions {
  /** Base hub URL, e.g. ws://localhost:8080; /ws/driver and /ws/rider are appended. */
  hubUrl: string;
  drivers: number;
  /** Driver ids are firstDriverId .. firstDriverId + drivers - 1; the seed data numbers drivers from 1. */
  firstDriverId?: number;
  intervalMs?: number;
  riders?: number;
  riderQueriesPerS?: number;
  seed?: string | number;
  tokenProvider?: TokenProvider;
  grid?: Partial<StreetGridOptions>;
  movement?: MovementOptions;
  /** Null keeps every driver online for the whole run. */
  offline?: OfflinePolicy | null;
  maxBuffered?: number;
  backoff?: BackoffOptions;
  /**
   * Connections and first frames are spread over this long (default: one
   * interval) so a large fleet neither opens thousands of sockets in the same
   * millisecond nor sends all its frames in lockstep forever after.
   */
  rampMs?: number;
  /** How long stop() waits for outstanding acks and answers before closing. */
  drainMs?: number;
  /** How drivers answer offers and run rides. */
  driverRides?: Partial<DriverRideOptions>;
  /** Mean seconds between a rider's ride requests while it has no ride; 0 (the default) never requests. */
  rideEveryS?: number;
}

export interface Simulation {
  readonly stats: SimStats;
  stop(): Promise<Summary>;
}

export function runSimulation(options: SimulationOptions): Simulation {
  const {
    hubUrl,
    drivers,
    firstDriverId = 1,
    intervalMs = 2_000,
    riders = 0,
    riderQueriesPerS = 1,
    seed = 1,
    offline = DEFAULT_OFFLINE,
    rampMs = intervalMs,
    drainMs = 2_000,
  } = options;
  assertValid(options, intervalMs, riderQueriesPerS);
  const grid = new StreetGrid(options.grid);
  const stats = new SimStats(drivers, riders);

  const driverClients = Array.from({ length: drivers }, (_, index) => {
    const driverId = firstDriverId + index;
    return new DriverClient({
      hubUrl,
      driverId,
      intervalMs,
      vehicle: new Vehicle(grid, createRng(deriveSeed(seed, 'vehicle', driverId)), options.movement ?? DEFAULT_MOVEMENT),
      rng: createRng(deriveSeed(seed, 'driver', driverId)),
      stats,
      tokenProvider: options.tokenProvider,
      maxBuffered: options.maxBuffered,
      offline,
      backoff: options.backoff,
      grid,
      rides: { ...DEFAULT_DRIVER_RIDES, ...options.driverRides },
    });
  });
  const riderClients = Array.from(
    { length: riders },
    (_, riderIndex) =>
      new RiderClient({
        hubUrl,
        riderIndex,
        queriesPerS: riderQueriesPerS,
        grid,
        rng: createRng(deriveSeed(seed, 'rider', riderIndex)),
        stats,
        // Alternate encodings so both of the hub's codecs are checked for ranking.
        encoding: riderIndex % 2 === 0 ? 'msgpack' : 'json',
        tokenProvider: options.tokenProvider,
        backoff: options.backoff,
        rideEveryS: options.rideEveryS,
      }),
  );

  const clients = [...driverClients, ...riderClients];
  const startTimers = clients.map((client, index) => setTimeout(() => client.start(), clients.length > 1 ? (index / clients.length) * rampMs : 0));

  let stopping: Promise<Summary> | undefined;
  return {
    stats,
    stop() {
      stopping ??= (async () => {
        // Rates cover the time the fleet was running, not the drain at the end.
        const stoppedAt = performance.now();
        for (const timer of startTimers) clearTimeout(timer);
        await Promise.all(clients.map((client) => client.stop(drainMs)));
        return stats.summary(stoppedAt);
      })();
      return stopping;
    },
  };
}

function assertValid(options: SimulationOptions, intervalMs: number, riderQueriesPerS: number): void {
  const protocol = new URL(options.hubUrl).protocol;
  if (protocol !== 'ws:' && protocol !== 'wss:') throw new RangeError(`hub URL must be ws:// or wss://, got ${protocol}`);
  if (!Number.isInteger(options.drivers) || options.drivers < 0) throw new RangeError('drivers must be a whole number ≥ 0');
  if (options.firstDriverId !== undefined && !(Number.isInteger(options.firstDriverId) && options.firstDriverId >= 1)) {
    throw new RangeError('first driver id must be a whole number ≥ 1');
  }
  if (options.riders !== undefined && (!Number.isInteger(options.riders) || options.riders < 0)) {
    throw new RangeError('riders must be a whole number ≥ 0');
  }
  if (!(intervalMs >= 10)) throw new RangeError('interval must be at least 10 ms');
  if (!(riderQueriesPerS > 0 && riderQueriesPerS <= 1000)) throw new RangeError('rider query rate must be in (0, 1000]/s');
}
