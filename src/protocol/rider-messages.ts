import { z } from 'zod';
import { VEHICLE_TYPES } from '../domain/driver.ts';
import { latitude, longitude, num, requestId } from './fields.ts';
import { NEARBY_DEFAULT_LIMIT, NEARBY_DEFAULT_RADIUS_KM, NEARBY_MAX_LIMIT, NEARBY_MAX_RADIUS_KM } from './limits.ts';

// Rider to hub. Strict, like every client message.

/** Who counts as near: one set of criteria and defaults for a one-off `nearby` and a live `subscribe`. */
export const nearbyCriteria = {
  id: requestId(),
  lat: latitude(),
  lng: longitude(),
  radiusKm: num().gt(0, 'must be above 0 km').max(NEARBY_MAX_RADIUS_KM, `must be at most ${NEARBY_MAX_RADIUS_KM} km`).default(NEARBY_DEFAULT_RADIUS_KM),
  limit: num().int().min(1).max(NEARBY_MAX_LIMIT).default(NEARBY_DEFAULT_LIMIT),
  vehicleType: z.enum(VEHICLE_TYPES).optional(),
  minRating: num().min(1).max(5).optional(),
};

export const nearbyQuerySchema = z.strictObject({ t: z.literal('nearby'), ...nearbyCriteria });

export type NearbyQuery = z.infer<typeof nearbyQuerySchema>;
export type NearbyQueryInput = z.input<typeof nearbyQuerySchema>;
