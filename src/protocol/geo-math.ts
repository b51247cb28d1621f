/**
 * The hub's one great-circle distance. Every source (Redis, SQL, memory) is
 * re-ranked with it so answers agree whatever index produced the candidates.
 * The radius is Redis's own, so its distances stay within a metre of ours.
 */
export const EARTH_RADIUS_KM = 6372.797560856;
const RAD = Math.PI / 180;

export function haversineKm(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLng = (lng2 - lng1) * RAD;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
}
