import { haversineKm } from '../domain/geo.ts';
import type { NearbyDriver } from '../protocol/messages.ts';
import { compareRanked } from '../protocol/ranking.ts';

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
