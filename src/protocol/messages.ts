import { z } from 'zod';
import {
  NEARBY_DEFAULT_LIMIT,
  NEARBY_DEFAULT_RADIUS_KM,
  NEARBY_MAX_LIMIT,
  NEARBY_MAX_RADIUS_KM,
  VEHICLE_TYPES,
} from './limits.ts';

// z.number() already rejects NaN and ±Infinity; the explicit bounds give out_of_range.
// -0 never comes from an honest client (JSON and msgpackr both send 0), so it is refused as a crafted value.
const num = () => z.number().refine((value) => !Object.is(value, -0), 'negative zero is not a valid value');
const latitude = num().min(-90).max(90);
const longitude = num().min(-180).max(180);
/** Epoch milliseconds between 2000-01-01 and 2100-01-01: anything else is a broken device clock. */
const epochMs = num().int().min(946_684_800_000).max(4_102_444_800_000);

// Client messages are strict: an unknown field (a typo, `__proto__`, `constructor`) is refused, never silently dropped.
export const locationFrameSchema = z.strictObject({
  t: z.literal('loc'),
  seq: num().int().min(1).max(Number.MAX_SAFE_INTEGER),
  lat: latitude,
  lng: longitude,
  ts: epochMs.optional(),
  heading: num().min(0).max(360).optional(),
  speed: num().min(0).max(150).optional(),
  accuracy: num().min(0).max(100_000).optional(),
});

export const statusFrameSchema = z.strictObject({
  t: z.literal('status'),
  status: z.enum(['online', 'offline']),
});

export const nearbyQuerySchema = z.strictObject({
  t: z.literal('nearby'),
  id: z.union([z.string().max(64), num().int()]),
  lat: latitude,
  lng: longitude,
  radiusKm: num().gt(0).max(NEARBY_MAX_RADIUS_KM).default(NEARBY_DEFAULT_RADIUS_KM),
  limit: num().int().min(1).max(NEARBY_MAX_LIMIT).default(NEARBY_DEFAULT_LIMIT),
  vehicleType: z.enum(VEHICLE_TYPES).optional(),
  minRating: num().min(1).max(5).optional(),
});

export type LocationFrame = z.infer<typeof locationFrameSchema>;
export type StatusFrame = z.infer<typeof statusFrameSchema>;
export type NearbyQuery = z.infer<typeof nearbyQuerySchema>;
export type NearbyQueryInput = z.input<typeof nearbyQuerySchema>;
export type DriverMessage = LocationFrame | StatusFrame;
export type RiderMessage = NearbyQuery;

export const driverMessageSchemas = { loc: locationFrameSchema, status: statusFrameSchema } as const;
export const riderMessageSchemas = { nearby: nearbyQuerySchema } as const;

// ---- hub to client ----

export interface HelloMessage {
  t: 'hello';
  driverId: number;
  lastSeq: number;
}

export interface AckMessage {
  t: 'ack';
  seq: number;
}

export interface NearbyDriver {
  id: number;
  name: string;
  vehicleType: string;
  rating: number;
  lat: number;
  lng: number;
  distanceKm: number;
}

export type NearbySource = 'redis' | 'sql' | 'memory';

export interface NearbyResultMessage {
  t: 'nearby.result';
  id: string | number;
  drivers: NearbyDriver[];
  source: NearbySource;
  ms: number;
}

export interface ErrorMessage {
  t: 'error';
  code: string;
  message: string;
  id?: string | number;
  retryAfterMs?: number;
}

export type ServerMessage = HelloMessage | AckMessage | NearbyResultMessage | ErrorMessage;
