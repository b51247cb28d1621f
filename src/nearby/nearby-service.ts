import { performance } from 'node:perf_hooks';
import { KM_PER_DEGREE_LAT } from '../domain/geo.ts';
import { GeoCellsUnavailable, type GeoHealthReports, type GeoIndex } from '../geo/types.ts';
import { INDEX_DISTANCE_SLACK_KM, INDEX_DISTANCE_SLACK_RATIO } from '../geo/types.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { NearbyDriver, NearbyQuery, NearbySource } from '../protocol/messages.ts';
import type { Store } from '../store/types.ts';
import type { ProfileCache } from './profile-cache.ts';
import { rankWithin, type RankInput } from './rank.ts';
import { SearchRadius } from './search-radius.ts';

/** Past this many index members per query, the SQL KNN scan is the better tool. */
const MAX_INDEX_FETCH = 20_000;

/** Only a failing index (not, say, a profile lookup) may switch reads to SQL. */
class GeoSearchFailed extends Error {
  constructor(cause: unknown) {
    super('geo index search failed', { cause });
  }
}

export interface NearbyAnswer {
  drivers: NearbyDriver[];
  source: NearbySource;
  ms: number;
}

export type NearbyCriteria = Omit<NearbyQuery, 't' | 'id'>;

/** The SQL fallback: an indexed nearest-neighbour query, re-ranked like every other source. */
export async function nearestFromSql(store: Store, criteria: NearbyCriteria, freshSinceMs: number): Promise<NearbyDriver[]> {
  const candidates = await store.nearestOnline({ ...criteria, freshSinceMs });
  return rankWithin(criteria, criteria.radiusKm, candidates).slice(0, criteria.limit);
}

export interface NearbyServiceDeps {
  geo: GeoIndex;
  store: Store;
  profiles: ProfileCache;
  health: GeoHealthReports;
  metrics: Metrics;
  logger: Logger;
  staleAfterMs: number;
}

/**
 * Answers "who is near" from the geo index, re-ranked with the hub's own
 * great-circle distance so every source gives the same list, and from the
 * indexed SQL fallback whenever the index is down.
 */
export class NearbyService {
  private readonly searchRadius = new SearchRadius();

  constructor(private readonly deps: NearbyServiceDeps) {}

  async find(criteria: NearbyCriteria): Promise<NearbyAnswer> {
    const started = performance.now();
    const freshSinceMs = Date.now() - this.deps.staleAfterMs;
    let drivers: NearbyDriver[] | undefined;
    let source: NearbySource = this.deps.geo.source;
    if (this.deps.health.usable && this.indexCovers(criteria)) {
      try {
        drivers = await this.fromIndex(criteria, freshSinceMs);
        this.deps.health.reportSuccess();
      } catch (error) {
        if (!(error instanceof GeoSearchFailed)) throw error;
        this.deps.metrics.geoErrors.inc({ op: 'search' });
        // Some cells are out of service (a cluster master is down): this query goes to SQL, the index stays in use.
        if (!(error.cause instanceof GeoCellsUnavailable)) this.deps.health.reportFailure(error.cause as Error, 'search');
      }
    }
    if (!drivers) {
      source = 'sql';
      drivers = await this.fromSql(criteria, freshSinceMs);
    }
    const ms = performance.now() - started;
    this.deps.metrics.nearbyLatency.observe({ source }, ms / 1000);
    return { drivers, source, ms: Math.round(ms * 100) / 100 };
  }

  /** Whether every driver the query could reach can be in the index (Redis holds no polar positions). */
  private indexCovers(criteria: NearbyCriteria): boolean {
    const reachDeg = criteria.radiusKm / KM_PER_DEGREE_LAT;
    return Math.abs(criteria.lat) + reachDeg < this.deps.geo.maxAbsLatitude;
  }

  private async fromSql(criteria: NearbyCriteria, freshSinceMs: number): Promise<NearbyDriver[]> {
    try {
      return await nearestFromSql(this.deps.store, criteria, freshSinceMs);
    } catch (error) {
      this.deps.metrics.storeErrors.inc({ op: 'nearest' });
      throw error;
    }
  }

  /**
   * Index distances differ from ours by up to the slack, so a member the
   * index cut off at `count` could still belong in our top `limit`. The
   * answer is final only when our limit-th distance is safely below the
   * index's cut; otherwise fetch more. The first search may cover less than
   * the rider's radius (see SearchRadius): when it was not cut off at
   * `count`, every member nearer than its radius was seen, so that radius
   * is the cut; short of `limit` drivers inside it, the search widens.
   */
  private async fromIndex(criteria: NearbyCriteria, freshSinceMs: number): Promise<NearbyDriver[]> {
    const { geo, profiles } = this.deps;
    let radiusKm = this.searchRadius.first(criteria.limit, criteria.radiusKm);
    let count = criteria.limit * 2 + 16;
    for (;;) {
      const searchRadiusKm = radiusKm * (1 + INDEX_DISTANCE_SLACK_RATIO) + INDEX_DISTANCE_SLACK_KM;
      const result = await geo.search({ lat: criteria.lat, lng: criteria.lng, radiusKm: searchRadiusKm, count, freshSinceMs }).catch((error: unknown) => {
        throw new GeoSearchFailed(error);
      });
      await profiles.ensure(result.hits.map((hit) => hit.id));
      const candidates: RankInput[] = [];
      for (const hit of result.hits) {
        const profile = profiles.get(hit.id);
        if (!profile || profile.status !== 'online') continue;
        if (criteria.vehicleType && profile.vehicleType !== criteria.vehicleType) continue;
        if (criteria.minRating !== undefined && profile.rating < criteria.minRating) continue;
        candidates.push({ id: hit.id, name: profile.name, vehicleType: profile.vehicleType, rating: profile.rating, lat: hit.lat, lng: hit.lng });
      }
      const ranked = rankWithin(criteria, criteria.radiusKm, candidates);
      const cutKm = result.truncated ? result.farthestKm * (1 - INDEX_DISTANCE_SLACK_RATIO) - INDEX_DISTANCE_SLACK_KM : radiusKm;
      const last = ranked[criteria.limit - 1];
      const wholeRadius = radiusKm >= criteria.radiusKm;
      if ((last && last.distanceKm < cutKm) || (wholeRadius && !result.truncated) || count >= MAX_INDEX_FETCH) {
        // Filters thin the fleet out: only plain queries say how dense it is.
        if (last && !criteria.vehicleType && criteria.minRating === undefined) this.searchRadius.learn(criteria.limit, last.distanceKm);
        return ranked.slice(0, criteria.limit);
      }
      if (result.truncated) count = Math.min(count * 4, MAX_INDEX_FETCH);
      else radiusKm = Math.min(criteria.radiusKm, radiusKm * 4);
    }
  }
}
