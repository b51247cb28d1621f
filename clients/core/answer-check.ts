import { haversineKm } from '../../src/domain/geo.ts';
import type { NearbyDriver, NearbyQueryInput } from '../../src/protocol/messages.ts';
import { NEARBY_DEFAULT_LIMIT, NEARBY_DEFAULT_RADIUS_KM } from '../../src/protocol/limits.ts';
import { compareRanked } from '../../src/protocol/ranking.ts';

/** Ways a nearby answer can break the protocol contract; `order` is the ranking rule itself. */
export const VIOLATION_KINDS = ['order', 'limit', 'radius', 'distance', 'filter', 'duplicate'] as const;
export type ViolationKind = (typeof VIOLATION_KINDS)[number];

/**
 * How far a reported distanceKm may sit from our own haversine of the
 * reported position: positions come back through a 52-bit geohash (under a
 * metre) and may be rounded for the wire; 10 m covers both with margin.
 */
const DISTANCE_TOLERANCE_KM = 0.01;
/** Radius filtering may use the index's metric, which agrees with ours to within a few metres. */
const RADIUS_TOLERANCE_KM = 0.005;

/**
 * Every way one nearby answer breaks the contract, one entry per offending
 * driver. Ranking is judged on the distances as sent, by the protocol's own
 * order (compareRanked): ascending distanceKm, then rating highest first, then id.
 */
export function checkNearbyAnswer(query: NearbyQueryInput, drivers: readonly NearbyDriver[]): ViolationKind[] {
  const found: ViolationKind[] = [];
  const limit = query.limit ?? NEARBY_DEFAULT_LIMIT;
  const radiusKm = query.radiusKm ?? NEARBY_DEFAULT_RADIUS_KM;
  if (drivers.length > limit) found.push('limit');
  const seen = new Set<number>();
  drivers.forEach((driver, index) => {
    const previous = index > 0 ? drivers[index - 1] : undefined;
    if (previous && compareRanked(previous, driver) > 0) found.push('order');
    if (seen.has(driver.id)) found.push('duplicate');
    seen.add(driver.id);
    if (driver.distanceKm > radiusKm + RADIUS_TOLERANCE_KM) found.push('radius');
    const ownKm = haversineKm(query.lat, query.lng, driver.lat, driver.lng);
    if (Math.abs(ownKm - driver.distanceKm) > DISTANCE_TOLERANCE_KM) found.push('distance');
    const wrongType = query.vehicleType !== undefined && driver.vehicleType !== query.vehicleType;
    const tooLowRated = query.minRating !== undefined && driver.rating < query.minRating;
    if (wrongType || tooLowRated) found.push('filter');
  });
  return found;
}
