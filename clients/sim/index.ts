export { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from '../lib/backoff.ts';
export { checkNearbyAnswer } from '../core/answer-check.ts';
export { DEFAULT_DRIVER_RIDES, DriverRides, type DriverRideOptions } from './driver-rides.ts';
export { RiderRides } from './rider-rides.ts';
export { DEFAULT_MAX_BUFFERED, DEFAULT_OFFLINE, DriverClient, type DriverClientOptions, type OfflinePolicy } from './driver-client.ts';
export { parseDuration } from '../lib/duration.ts';
export { hubSocketUrl, type TokenProvider, type TokenSubject } from '../core/endpoints.ts';
export { formatStatusLine, formatSummary } from './format.ts';
export { LatencyHistogram } from '../lib/latency-histogram.ts';
export { DEFAULT_MOVEMENT, Vehicle, type MovementOptions, type VehicleState } from './movement.ts';
export { createRng, deriveSeed, type Rng } from '../../src/domain/random.ts';
export { RiderClient, type RiderClientOptions } from './rider-client.ts';
export { runSimulation, type Simulation, type SimulationOptions } from './simulation.ts';
export {
  SimStats,
  VIOLATION_KINDS,
  type LatencySummary,
  type StatsSnapshot,
  type Summary,
  type ViolationKind,
} from './stats.ts';
export { DEFAULT_GRID, StreetGrid, type Direction, type GridNode, type LatLng, type StreetGridOptions } from './street-grid.ts';
