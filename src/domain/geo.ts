/**
 * The hub's one geometry. Every source (Redis, SQL, memory) is re-ranked with
 * haversineKm so answers agree whatever index produced the candidates. The
 * radius is Redis's own, so its distances stay within a metre of ours.
 */
export const EARTH_RADIUS_KM = 6372.797560856;

/** Degrees to radians. */
export const RAD = Math.PI / 180;

/** Kilometres per degree of latitude (and of longitude at the equator) on the hub's sphere. */
export const KM_PER_DEGREE_LAT = (Math.PI * EARTH_RADIUS_KM) / 180;

/** Kilometres per degree of longitude at a latitude. */
export function kmPerDegreeLng(lat: number): number {
  return KM_PER_DEGREE_LAT * Math.cos((lat * Math.PI) / 180);
}

export interface LatLng {
  lat: number;
  lng: number;
}

/** Great-circle distance in km. */
export function haversineKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLng = (lng2 - lng1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * The point `northKm` north and `eastKm` east of `from` on a local flat
 * approximation (good to well under a metre over a city). The longitude scale
 * is taken at `from`, so offsets of tens of km drift slightly at high latitude.
 */
export function offsetKm(from: LatLng, northKm: number, eastKm: number): LatLng {
  return { lat: from.lat + northKm / KM_PER_DEGREE_LAT, lng: from.lng + eastKm / kmPerDegreeLng(from.lat) };
}

/** A point uniformly distributed over the disc of `radiusKm` around `center`; draws two numbers from `rng`. */
export function randomPointInDisc(rng: { next(): number }, center: LatLng, radiusKm: number): LatLng {
  const distanceKm = radiusKm * Math.sqrt(rng.next());
  const bearing = rng.next() * 2 * Math.PI;
  return offsetKm(center, distanceKm * Math.cos(bearing), distanceKm * Math.sin(bearing));
}
