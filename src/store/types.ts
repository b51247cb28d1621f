import type { DriverProfile, DriverRecord, DriverStatus, NewDriver, VehicleType } from '../domain/driver.ts';

/**
 * One flush worth of frames, as parallel arrays: a batch of thousands of
 * frames stays a handful of allocations and binds straight to unnest().
 */
export interface LocationBatch {
  driverIds: number[];
  seqs: number[];
  lats: number[];
  lngs: number[];
  recordedAtMs: number[];
  receivedAtMs: number[];
  /** At most one status per driver: the latest one received. */
  statusDriverIds: number[];
  statuses: Array<'online' | 'offline'>;
}

/** A driver's state after a batch committed. */
export interface CommittedDriver {
  id: number;
  lastSeq: number;
  status: DriverStatus;
  lat: number | null;
  lng: number | null;
  /** Last seen, as the database recorded it: the freshness clock every index shares. */
  updatedAtMs: number;
}

export interface DriverPosition {
  id: number;
  status: DriverStatus;
  lat: number;
  lng: number;
  updatedAtMs: number;
}

export interface CandidateQuery {
  lat: number;
  lng: number;
  radiusKm: number;
  limit: number;
  /** Drivers last seen before this instant are stale and left out. */
  freshSinceMs: number;
  vehicleType?: VehicleType;
  minRating?: number;
}

export interface Candidate extends DriverProfile {
  lat: number;
  lng: number;
}

/** The one PostgreSQL-shaped dependency of the domain services; pg and PGlite both implement it. */
export interface Store {
  readonly kind: 'postgres' | 'pglite';
  /** Round trips made so far, so tests and metrics can show batching is real. */
  readonly roundTrips: number;
  migrate(): Promise<void>;
  /** Applies a batch in one set-based statement and returns each touched driver's committed state. */
  writeBatch(batch: LocationBatch): Promise<CommittedDriver[]>;
  /** The committed seq of each existing driver among `ids`; unknown ids are absent. */
  resumePoints(ids: number[]): Promise<Map<number, number>>;
  /** The original design's per-request write: one statement, position plus one history row. */
  updateLocation(id: number, lat: number, lng: number): Promise<DriverRecord | null>;
  getDriver(id: number): Promise<DriverRecord | null>;
  getDrivers(ids: number[]): Promise<DriverRecord[]>;
  /** Indexed nearest-neighbour search with every filter applied, nearest first. */
  nearestOnline(query: CandidateQuery): Promise<Candidate[]>;
  /** Profiles whose name, vehicle, rating or status changed after `sinceMs` (all when null), plus the high-water mark. */
  profilesChangedSince(sinceMs: number | null): Promise<{ profiles: DriverProfile[]; highWaterMs: number | null }>;
  /** Online drivers with a position seen at or after `freshSinceMs`. */
  onlinePositions(freshSinceMs: number): Promise<DriverPosition[]>;
  /** Inserts drivers in one set-based statement; returns their ids in input order. */
  insertDrivers(drivers: NewDriver[]): Promise<number[]>;
  countDrivers(): Promise<number>;
  /** Reclaims the dead row versions batches leave in the drivers table and its indexes; a no-op while another vacuum runs. */
  vacuumPositions(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
