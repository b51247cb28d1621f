import { haversineKm } from '../protocol/geo-math.ts';
import type { NearbyDriver } from '../protocol/messages.ts';

/** Distance ascending; equal distances go to the higher rating, then the lower id so the order is total. */
export function compareRanked(a: NearbyDriver, b: NearbyDriver): number {
  return a.distanceKm - b.distanceKm || b.rating - a.rating || a.id - b.id;
}

export interface RankInput {
  id: number;
  name: string;
  vehicleType: string;
  rating: number;
  lat: number;
  lng: number;
}

/** Ranks candidates around an origin with the hub's own great-circle distance, keeping those within the radius. */
export function rankWithin(origin: { lat: number; lng: number }, radiusKm: number, candidates: Iterable<RankInput>): NearbyDriver[] {
  const ranked: NearbyDriver[] = [];
  for (const c of candidates) {
    const distanceKm = haversineKm(origin.lat, origin.lng, c.lat, c.lng);
    if (distanceKm > radiusKm) continue;
    ranked.push({ id: c.id, name: c.name, vehicleType: c.vehicleType, rating: c.rating, lat: c.lat, lng: c.lng, distanceKm });
  }
  return ranked.sort(compareRanked);
}
