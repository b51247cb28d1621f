import type { DriverProfile, DriverRecord, DriverStatus, NewDriver, VehicleType } from '../domain/driver.ts';
import type { RideStore } from './ride-store.ts';

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
  /**
   * The position before this batch, read under the batch's row lock: where
   * the previous write put the driver in the geo index, so a driver that
   * crossed into another cell is moved out of its old one.
   */
  previousLat: number | null;
  previousLng: number | null;
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

/** A driver row as the incremental reconcile reads it: any status, position possibly unknown. */
export interface DriverChange {
  id: number;
  status: DriverStatus;
  lat: number | null;
  lng: number | null;
  /** Last seen (a frame or status change the hub applied). */
  updatedAtMs: number;
  /** The latest of last seen and the last profile or status change (another writer's, too). */
  changedAtMs: number;
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

/** A per-request position write: the driver after it, and where it was before (for the geo index, as in CommittedDriver). */
export interface LocationUpdate {
  driver: DriverRecord;
  previousLat: number | null;
  previousLng: number | null;
}

/** How long history is kept and how far ahead its daily partitions are made. */
export interface HistorySettings {
  /** Partitions whose whole day is older than this are dropped; 0 keeps history forever. */
  retentionDays: number;
  /** Days after today that get their partition in advance. */
  aheadDays: number;
}

/** What one history maintenance pass did, by partition name. */
export interface HistoryMaintenance {
  created: string[];
  dropped: string[];
  /** Steps skipped because their lock was not free within the pass's lock timeout; the next pass retries them. */
  busy: string[];
  /** Rows moved out of the default partition into a partition created for their day. */
  rowsMoved: number;
}

/** Where the previous page of a track ended: exact, so no position is skipped or repeated. */
export interface TrackCursor {
  /** recorded_at in epoch microseconds, as PostgreSQL holds it. */
  recordedAtUs: bigint;
  seq: number;
}

export interface TrackQuery {
  driverId: number;
  /** Inclusive. */
  fromMs: number;
  /** Exclusive. */
  toMs: number;
  limit: number;
  after?: TrackCursor;
}

export interface TrackPoint {
  seq: number;
  lat: number;
  lng: number;
  recordedAtMs: number;
  receivedAtMs: number;
}

export interface TrackPage {
  points: TrackPoint[];
  /** Set when more positions follow in the window. */
  next: TrackCursor | null;
}

/** The one PostgreSQL-shaped dependency of the domain services; pg and PGlite both implement it. */
export interface Store {
  readonly kind: 'postgres' | 'pglite';
  /** Rides and offers: dispatch's conditional writes. */
  readonly rides: RideStore;
  /** Round trips made so far, so tests and metrics can show batching is real. */
  readonly roundTrips: number;
  migrate(): Promise<void>;
  /** Applies a batch in one set-based statement and returns each touched driver's committed state. */
  writeBatch(batch: LocationBatch): Promise<CommittedDriver[]>;
  /** The committed seq of each existing driver among `ids`; unknown ids are absent. */
  resumePoints(ids: number[]): Promise<Map<number, number>>;
  /** The original design's per-request write: one statement, position plus one history row. */
  updateLocation(id: number, lat: number, lng: number): Promise<LocationUpdate | null>;
  getDriver(id: number): Promise<DriverRecord | null>;
  getDrivers(ids: number[]): Promise<DriverRecord[]>;
  /** Indexed nearest-neighbour search with every filter applied, nearest first. */
  nearestOnline(query: CandidateQuery): Promise<Candidate[]>;
  /** Profiles whose name, vehicle, rating or status changed after `sinceMs` (all when null), plus the high-water mark. */
  profilesChangedSince(sinceMs: number | null): Promise<{ profiles: DriverProfile[]; highWaterMs: number | null }>;
  /** Online drivers with a position seen at or after `freshSinceMs`. */
  onlinePositions(freshSinceMs: number): Promise<DriverPosition[]>;
  /**
   * Drivers seen or changed (status, profile) at or after `sinceMs`, with the
   * database's clock at the read: the incremental reconcile's watermark.
   */
  driversChangedSince(sinceMs: number): Promise<{ changes: DriverChange[]; readAtMs: number }>;
  /** Inserts drivers in one set-based statement; returns their ids in input order. */
  insertDrivers(drivers: NewDriver[]): Promise<number[]>;
  countDrivers(): Promise<number>;
  /** Creates history partitions ahead and drops those past retention, as of `nowMs`. */
  maintainHistory(nowMs: number): Promise<HistoryMaintenance>;
  /** One page of a driver's recorded positions in a window, oldest first; reads only the partitions the window overlaps. */
  driverTrack(query: TrackQuery): Promise<TrackPage>;
  /** Reclaims the dead row versions batches leave in the drivers table and its indexes; a no-op while another vacuum runs. */
  vacuumPositions(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
