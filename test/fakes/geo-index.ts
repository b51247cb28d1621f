import { createMemoryIndex } from '../../src/geo/memory-index.ts';
import type { GeoChanges, GeoEntry, GeoIndex, GeoSearch, GeoSearchResult } from '../../src/geo/types.ts';

/** Redis's geohash limit, which the fake reports so polar queries behave as they do against Redis. */
const REDIS_MAX_ABS_LATITUDE = 85.05112878;

/**
 * A geo index for unit tests that answers like the Redis index (the real
 * in-process grid does the searching) and records every call, with failures
 * on demand: a test can see how a service searched and make the index fail
 * the way a lost Redis does.
 */
export class FakeGeoIndex implements GeoIndex {
  readonly source = 'redis' as const;
  readonly maxAbsLatitude = REDIS_MAX_ABS_LATITUDE;
  readonly searches: GeoSearch[] = [];
  readonly applied: GeoChanges[] = [];
  private readonly grid = createMemoryIndex();
  private searchFailures: Error[] = [];
  private applyFailure: Error | undefined;

  /** Puts online drivers into the index, seen now. */
  async put(drivers: Array<{ id: number; lat: number; lng: number }>): Promise<void> {
    const seenAtMs = Date.now();
    await this.grid.apply({
      ids: drivers.map((driver) => driver.id),
      lats: drivers.map((driver) => driver.lat),
      lngs: drivers.map((driver) => driver.lng),
      seenAtMs: drivers.map(() => seenAtMs),
      removeIds: [],
    });
  }

  /** The next searches reject with these errors, one each, in order. */
  failSearches(...errors: Error[]): void {
    this.searchFailures.push(...errors);
  }

  /** Makes apply reject with `error` (or succeed again when undefined). */
  failApply(error: Error | undefined): void {
    this.applyFailure = error;
  }

  async connect(): Promise<void> {}
  attachRepair(): void {}

  onConnectionError(): () => void {
    return () => undefined;
  }

  async apply(changes: GeoChanges): Promise<number> {
    this.applied.push(structuredClone(changes));
    if (this.applyFailure) throw this.applyFailure;
    return this.grid.apply(changes);
  }

  async search(query: GeoSearch): Promise<GeoSearchResult> {
    this.searches.push({ ...query });
    const failure = this.searchFailures.shift();
    if (failure) throw failure;
    return this.grid.search(query);
  }

  removeStale(cutoffMs: number): Promise<number[]> {
    return this.grid.removeStale(cutoffMs);
  }

  memberIds(): Promise<number[]> {
    return this.grid.memberIds();
  }

  entries(): Promise<GeoEntry[]> {
    return this.grid.entries();
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
