/** One driver's position as an index holds it. */
export interface GeoHit {
  id: number;
  lat: number;
  lng: number;
}

export interface GeoSearch {
  lat: number;
  lng: number;
  radiusKm: number;
  /** How many nearest members to return at most, before the hub's own filtering. */
  count: number;
  /** Members last seen before this instant are stale: never returned. */
  freshSinceMs: number;
}

export interface GeoSearchResult {
  /** Fresh members, nearest first by the index's own distance. */
  hits: GeoHit[];
  /** True when the index stopped at `count`: nearer-by-our-metric members may exist beyond it. */
  truncated: boolean;
  /** The index's distance of the farthest member it looked at, in km (0 when none). */
  farthestKm: number;
}

/**
 * One member as the index holds it, for reconciliation against PostgreSQL.
 * A cell-split index may briefly hold a driver in two cells: entries then
 * lists both copies.
 */
export interface GeoEntry extends GeoHit {
  seenAtMs: number;
  /** Missing from one of the index's structures: never agrees with the database. Its position is NaN when unknown. */
  broken?: boolean;
}

/**
 * A set of removals and upserts, applied as one pipelined write, removals
 * first (a driver in both ends up present). Every write compares freshness:
 * an upsert older than what the index holds for that driver, or than a
 * timed removal it already applied, changes nothing, so writes that arrive
 * out of order never take the index back in time. An index
 * split by cell also needs to know where each driver was: an upsert whose
 * previous position lies in another cell moves the driver out of that cell,
 * and a removal is made in the cell of the position it was indexed at. NaN
 * (or absent arrays) means unknown: the previous copy then stays until the
 * reconciliation or stale removal takes it out, and answers stay right
 * meanwhile because a search keeps the freshest copy of each driver.
 */
export interface GeoChanges {
  ids: number[];
  lats: number[];
  lngs: number[];
  seenAtMs: number[];
  /** Parallel to ids: the position each driver was indexed at before this write. */
  previousLats?: number[];
  previousLngs?: number[];
  removeIds: number[];
  /** Parallel to removeIds: the position each removed driver was indexed at. */
  removeLats?: number[];
  removeLngs?: number[];
  /**
   * Parallel to removeIds: the time each removal is true as of (the status
   * change, or the last-seen time the remover read). A member seen after it
   * stays, and writes older than it are refused afterwards. Absent means
   * unconditional.
   */
  removeSeenAtMs?: number[];
  /**
   * Also rewrite a member exactly as new as its upsert when the index holds
   * it incompletely (a structure missing): the full repair's case. Without
   * it an equally new member is left as it is, which keeps a pass over a
   * healthy index cheap.
   */
  completeEqual?: boolean;
}

/**
 * A search needed part of the index that is out of service (a dead master of
 * a cluster, while its cells wait for failover or repair). Only this query
 * goes to the SQL fallback; the index as a whole stays in use.
 */
export class GeoCellsUnavailable extends Error {
  constructor(
    readonly cells: number,
    cause?: unknown,
  ) {
    super(`${cells} cell(s) of the geo index are out of service`, { cause });
    this.name = 'GeoCellsUnavailable';
  }
}

/**
 * The geo index behind nearby search: Redis in server mode, an in-process
 * grid in embedded mode. The domain services only ever see this interface.
 */
export interface GeoIndex {
  readonly source: 'redis' | 'memory';
  /**
   * The highest |latitude| the index can hold. Redis's geohash stops at
   * ±85.05112878°: positions beyond it are left out of the index, and a
   * search that could reach them goes to SQL instead.
   */
  readonly maxAbsLatitude: number;
  /**
   * Opens the index's connections. node-redis keeps retrying a first
   * connection for as long as it takes, so callers bound the wait; the
   * in-process index has nothing to open.
   */
  connect(): Promise<void>;
  /**
   * Failures outside any call, such as a dropped connection: the index may
   * have restarted empty or missed writes. Returns an unsubscribe function.
   */
  onConnectionError(listener: (error: Error) => void): () => void;
  /**
   * The repair the index runs when part of it comes back from an outage it
   * handles itself (a cluster master): it rebuilds what that part lost before
   * its cells serve searches again. A no-op for indexes that fail as a whole.
   */
  attachRepair(repair: () => Promise<void>): void;
  /** Applies what is not older than the index's own state; resolves to how many members were written or removed. */
  apply(changes: GeoChanges): Promise<number>;
  search(query: GeoSearch): Promise<GeoSearchResult>;
  /** Removes members last seen at or before `cutoffMs` and returns their ids. */
  removeStale(cutoffMs: number): Promise<number[]>;
  /** Every member id, for reconciliation against PostgreSQL. */
  memberIds(): Promise<number[]>;
  /** Every member with its exact position and last-seen time, for reconciliation against PostgreSQL. */
  entries(): Promise<GeoEntry[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type GeoState = 'up' | 'down' | 'repairing';

/**
 * The index's health as the domain services see it (GeoHealth implements it):
 * whether reads may use the index, and where to report how a call went.
 */
export interface GeoHealthReports {
  readonly state: GeoState;
  /** Reads may use the index. */
  readonly usable: boolean;
  reportSuccess(): void;
  reportFailure(error: Error, operation: string): void;
}

/**
 * How far an index's own distance may be from the hub's great-circle distance.
 * Redis stores 52-bit geohashes (under a metre of error) and uses the same
 * Earth radius as the hub; the margins cover that with room to spare.
 */
export const INDEX_DISTANCE_SLACK_KM = 0.002;
export const INDEX_DISTANCE_SLACK_RATIO = 1e-4;
