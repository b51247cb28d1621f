import { haversineKm } from '../../src/domain/geo.ts';
import type { NearbyDriver } from '../../src/protocol/messages.ts';
import type { TestHub } from './hub.ts';
import { withDb } from './fleet.ts';

export interface BruteForceQuery {
  lat: number;
  lng: number;
  radiusKm: number;
  limit: number;
  vehicleType?: string;
  minRating?: number;
}

/** The columns the reference reads; lat and lng are not null by the query's own filter. */
interface OnlineDriverRow {
  id: number;
  name: string;
  vehicle_type: string;
  rating: number;
  lat: number;
  lng: number;
}

/** The reference answer: every fresh online driver in the database, ranked by great-circle distance then rating. */
export function bruteForceNearby(testHub: TestHub, query: BruteForceQuery): Promise<NearbyDriver[]> {
  return bruteForceNearbyIn(testHub.db.url, query);
}

/** The same reference answer from the database at `databaseUrl` (for hubs running as processes). */
export async function bruteForceNearbyIn(databaseUrl: string, query: BruteForceQuery): Promise<NearbyDriver[]> {
  const rows = await withDb(databaseUrl, (db) =>
    db.query<OnlineDriverRow>(`SELECT id, name, vehicle_type, rating, lat, lng FROM drivers WHERE status = 'online' AND lat IS NOT NULL`),
  );
  return rows.rows
    .map((row) => ({
      id: row.id,
      name: row.name,
      vehicleType: row.vehicle_type,
      rating: row.rating,
      lat: row.lat,
      lng: row.lng,
      distanceKm: haversineKm(query.lat, query.lng, row.lat, row.lng),
    }))
    .filter((d) => d.distanceKm <= query.radiusKm)
    .filter((d) => !query.vehicleType || d.vehicleType === query.vehicleType)
    .filter((d) => query.minRating === undefined || d.rating >= query.minRating)
    .sort((a, b) => a.distanceKm - b.distanceKm || b.rating - a.rating || a.id - b.id)
    .slice(0, query.limit);
}
