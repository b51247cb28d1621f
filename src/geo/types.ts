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

/** One member as the index holds it, for reconciliation against PostgreSQL. */
export interface GeoEntry extends GeoHit {
  seenAtMs: number;
}

/** A set of upserts and removals, applied as one pipelined write. */
export interface GeoChanges {
  ids: number[];
  lats: number[];
  lngs: number[];
  seenAtMs: number[];
  removeIds: number[];
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
  apply(changes: GeoChanges): Promise<void>;
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

/**
 * How far an index's own distance may be from the hub's great-circle distance.
 * Redis stores 52-bit geohashes (under a metre of error) and uses the same
 * Earth radius as the hub; the margins cover that with room to spare.
 */
export const INDEX_DISTANCE_SLACK_KM = 0.002;
export const INDEX_DISTANCE_SLACK_RATIO = 1e-4;
