/**
 * The order of every ranked driver list the hub sends (nearby.result and the
 * REST nearby answer): distance ascending; equal distances go to the higher
 * rating, then the lower id, so the order is total and every party that sorts
 * the same drivers gets the same list.
 */
export function compareRanked(a: { distanceKm: number; rating: number; id: number }, b: { distanceKm: number; rating: number; id: number }): number {
  return a.distanceKm - b.distanceKm || b.rating - a.rating || a.id - b.id;
}
