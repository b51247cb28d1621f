import { z } from 'zod';
import { DRIVER_STATUSES, VEHICLE_TYPES, type DriverRecord } from '../domain/driver.ts';
import { OFFER_ANSWERS, RIDE_STATUSES } from '../domain/ride.ts';
import { ERROR_CODES } from './errors.ts';
import {
  NEARBY_DEFAULT_LIMIT,
  NEARBY_DEFAULT_RADIUS_KM,
  NEARBY_MAX_LIMIT,
  NEARBY_MAX_RADIUS_KM,
  TRACK_DEFAULT_LIMIT,
  TRACK_MAX_LIMIT,
  TRACK_MAX_WINDOW_MS,
} from './limits.ts';
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
  radius: queryNumber(z.number().gt(0, 'must be above 0 km').max(NEARBY_MAX_RADIUS_KM, `must be at most ${NEARBY_MAX_RADIUS_KM} km`)).default(
    NEARBY_DEFAULT_RADIUS_KM,
  ),
  limit: queryNumber(z.number().int().min(1).max(NEARBY_MAX_LIMIT)).default(NEARBY_DEFAULT_LIMIT),
  vehicleType: z.enum(VEHICLE_TYPES).optional(),
  minRating: queryNumber(z.number().min(1).max(5)).optional(),
});

// An instant: epoch milliseconds, or ISO 8601 with a zone (Z or ±hh:mm), so that no server time zone guesses.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})$/;
const queryInstant = z
  .string()
  .refine(
    (value) => /^\d{1,15}$/.test(value) || (ISO_INSTANT.test(value) && !Number.isNaN(Date.parse(value))),
    'must be epoch milliseconds or ISO 8601 with a zone',
  )
  .transform((value) => (/^\d+$/.test(value) ? Number(value) : Date.parse(value)))
  .pipe(z.number().min(0).max(4_102_444_800_000));

/** `:id` in `/api/rides/:id`: the UUID `ride.requested` named. */
export const RIDE_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The `next` of a track page, passed back as `after`: recorded_at in epoch microseconds, a dash, the seq. */
export const TRACK_CURSOR_PATTERN = /^(\d{1,17})-(\d{1,16})$/;

/** `GET /api/drivers/:id/track` query parameters: a window of at most TRACK_MAX_WINDOW_MS, a page size, a cursor. */
export const trackParamsSchema = z
  .object({
    from: queryInstant,
    to: queryInstant,
    limit: queryNumber(z.number().int().min(1).max(TRACK_MAX_LIMIT)).default(TRACK_DEFAULT_LIMIT),
    after: z.string().regex(TRACK_CURSOR_PATTERN, 'must be the `next` of a previous page').optional(),
  })
  .superRefine((params, ctx) => {
    if (params.to <= params.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    else if (params.to - params.from > TRACK_MAX_WINDOW_MS) {
      const message = `the window may span at most ${TRACK_MAX_WINDOW_MS / 3_600_000} hours`;
      ctx.addIssue({ code: 'too_big', origin: 'number', maximum: TRACK_MAX_WINDOW_MS, inclusive: true, input: params.to - params.from, path: ['to'], message });
    }
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

/** `GET /api/drivers/:id/track` answer: one page, oldest first; `next` is the cursor of the following page, or null. */
export const trackResponseSchema = z.object({
  success: z.literal(true),
  data: z.object({
    driverId: z.number().int(),
    from: z.string(),
    to: z.string(),
    positions: z.array(z.object({ seq: z.number().int(), lat: z.number(), lng: z.number(), recordedAt: z.string(), receivedAt: z.string() })),
    next: z.string().nullable(),
  }),
});

const instantOrNull = z.string().nullable();
const placeSchema = z.object({ lat: z.number(), lng: z.number() });

/** `GET /api/rides/:id` answer: the ride with a time per transition, and every offer made for it, in the order sent. */
export const rideResponseSchema = z.object({
  success: z.literal(true),
  data: z.object({
    id: z.string(),
    riderId: z.string(),
    driverId: z.number().int().nullable(),
    status: z.enum(RIDE_STATUSES),
    pickup: placeSchema,
    dropoff: placeSchema.nullable(),
    vehicleType: z.enum(VEHICLE_TYPES).nullable(),
    wave: z.number().int(),
    requestedAt: z.string(),
    assignedAt: instantOrNull,
    arrivedAt: instantOrNull,
    startedAt: instantOrNull,
    completedAt: instantOrNull,
    cancelledAt: instantOrNull,
    unmatchedAt: instantOrNull,
    cancelledBy: z.enum(['rider', 'driver']).nullable(),
    cancelReason: z.string().nullable(),
    offers: z.array(
      z.object({
        driverId: z.number().int(),
        wave: z.number().int(),
        distanceKm: z.number(),
        sentAt: z.string(),
        expiresAt: z.string(),
        /** Null while the offer is open. */
        answer: z.enum(OFFER_ANSWERS).nullable(),
        answeredAt: instantOrNull,
      }),
    ),
  }),
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
export type TrackParams = z.infer<typeof trackParamsSchema>;
export type TrackResponse = z.infer<typeof trackResponseSchema>;
export type ReadinessReport = z.infer<typeof readinessReportSchema>;
export type HubStats = z.infer<typeof hubStatsSchema>;
export type RideResponse = z.infer<typeof rideResponseSchema>;
