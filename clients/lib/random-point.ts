import { EARTH_RADIUS_KM } from '../../src/domain/geo.ts';
import type { Rng } from './prng.ts';

const KM_PER_DEG_LAT = (Math.PI * EARTH_RADIUS_KM) / 180;

/** A point uniformly distributed over a disc of `radiusKm` around a centre. */
export function randomPointKm(rng: Rng, lat: number, lng: number, radiusKm: number): { lat: number; lng: number } {
  const distance = radiusKm * Math.sqrt(rng.next());
  const bearing = rng.next() * 2 * Math.PI;
  const kmPerDegLng = KM_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180);
  return { lat: lat + (distance * Math.cos(bearing)) / KM_PER_DEG_LAT, lng: lng + (distance * Math.sin(bearing)) / kmPerDegLng };
}
