import { z } from 'zod';
import { DRIVER_STATUSES, VEHICLE_TYPES, type DriverRecord } from '../domain/driver.ts';
import { ERROR_CODES } from './errors.ts';
import { NEARBY_DEFAULT_LIMIT, NEARBY_DEFAULT_RADIUS_KM, NEARBY_MAX_LIMIT, NEARBY_MAX_RADIUS_KM } from './limits.ts';
import { NEARBY_SOURCES, nearbyDriverSchema } from './server-messages.ts';

// ---- requests ----

/** `POST /api/drivers/:id/location` body. Strict like the socket protocol: an unknown field is refused, not dropped. */
export const locationBodySchema = z.strictObject({ lat: z.number().min(-90).max(90), lng: z.number().min(-180).max(180) });

/** `:id` in `/api/drivers/:id/...`: a positive 32-bit integer, written plainly. */
export const DRIVER_ID_PATTERN = /^[1-9][0-9]{0,9}$/;
export const MAX_DRIVER_ID = 2_147_483_647;

// Query strings are text. Plain decimals only: a bare coercion would read "" and " " as 0 and "0x10" as 16.
const DECIMAL = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const queryNumber = (bounds: z.ZodNumber) => z.string().regex(DECIMAL, 'must be a decimal number').transform(Number).pipe(bounds);

/** `GET /api/drivers/nearby` query parameters. */
export const nearbyParamsSchema = z.object({
  lat: queryNumber(z.number().min(-90).max(90)),
  lng: queryNumber(z.number().min(-180).max(180)),
  radius: queryNumber(z.number().gt(0).max(NEARBY_MAX_RADIUS_KM)).default(NEARBY_DEFAULT_RADIUS_KM),
  limit: queryNumber(z.number().int().min(1).max(NEARBY_MAX_LIMIT)).default(NEARBY_DEFAULT_LIMIT),
  vehicleType: z.enum(VEHICLE_TYPES).optional(),
  minRating: queryNumber(z.number().min(1).max(5)).optional(),
});

// ---- responses ----

/** Every REST error: `{success:false, error, code}` with the HTTP status that fits the code. */
export const restErrorSchema = z.object({ success: z.literal(false), error: z.string(), code: z.enum(ERROR_CODES) });

export const driverRecordSchema: z.ZodType<DriverRecord> = z.object({
  id: z.number().int(),
  name: z.string(),
  phone: z.string(),
  vehicleType: z.enum(VEHICLE_TYPES),
  rating: z.number(),
  totalRides: z.number().int(),
  status: z.enum(DRIVER_STATUSES),
  lat: z.number().nullable(),
  lng: z.number().nullable(),
  updatedAt: z.string(),
  lastSeq: z.number().int(),
});

/** `POST /api/drivers/:id/location` answer: the driver as stored after the write. */
export const locationResponseSchema = z.object({ success: z.literal(true), data: driverRecordSchema });

/** `GET /api/drivers/nearby` answer: the original design's shape, `distance` repeating `distanceKm`. */
export const nearbyResponseSchema = z.object({
  success: z.literal(true),
  data: z.array(nearbyDriverSchema.extend({ distance: z.number() })),
  performance: z.object({ queryTime: z.string(), method: z.enum(NEARBY_SOURCES) }),
});

/** `GET /readyz` answer (200 when ready, 503 otherwise). */
export const readinessReportSchema = z.object({
  ready: z.boolean(),
  postgres: z.enum(['up', 'down']),
  geo: z.object({ kind: z.enum(['redis', 'memory']), state: z.enum(['up', 'down', 'repairing']) }),
  pendingFrames: z.number().int(),
});

/** `GET /api/stats` answer, for the demo's status bar. */
export const hubStatsSchema = z.object({
  driversOnline: z.number().int(),
  framesPerSecond: z.number(),
  connections: z.object({ drivers: z.number().int(), riders: z.number().int() }),
});

export type LocationBody = z.infer<typeof locationBodySchema>;
export type NearbyParams = z.infer<typeof nearbyParamsSchema>;
export type RestError = z.infer<typeof restErrorSchema>;
export type LocationResponse = z.infer<typeof locationResponseSchema>;
export type NearbyResponse = z.infer<typeof nearbyResponseSchema>;
export type ReadinessReport = z.infer<typeof readinessReportSchema>;
export type HubStats = z.infer<typeof hubStatsSchema>;
