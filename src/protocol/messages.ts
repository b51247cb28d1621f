import { z } from 'zod';
import {
  NEARBY_DEFAULT_LIMIT,
  NEARBY_DEFAULT_RADIUS_KM,
  NEARBY_MAX_LIMIT,
  NEARBY_MAX_RADIUS_KM,
  VEHICLE_TYPES,
} from './limits.ts';

// z.number() already rejects NaN and ±Infinity; the explicit bounds give out_of_range.
const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);
/** Epoch milliseconds between 2000-01-01 and 2100-01-01: anything else is a broken device clock. */
const epochMs = z.number().int().min(946_684_800_000).max(4_102_444_800_000);

export const locationFrameSchema = z.object({
  t: z.literal('loc'),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  lat: latitude,
  lng: longitude,
  ts: epochMs.optional(),
  heading: z.number().min(0).max(360).optional(),
  speed: z.number().min(0).max(150).optional(),
  accuracy: z.number().min(0).max(100_000).optional(),
});

export const statusFrameSchema = z.object({
  t: z.literal('status'),
  status: z.enum(['online', 'offline']),
});

export const nearbyQuerySchema = z.object({
  t: z.literal('nearby'),
  id: z.union([z.string().max(64), z.number().int()]),
  lat: latitude,
  lng: longitude,
  radiusKm: z.number().gt(0).max(NEARBY_MAX_RADIUS_KM).default(NEARBY_DEFAULT_RADIUS_KM),
  limit: z.number().int().min(1).max(NEARBY_MAX_LIMIT).default(NEARBY_DEFAULT_LIMIT),
  vehicleType: z.enum(VEHICLE_TYPES).optional(),
  minRating: z.number().min(1).max(5).optional(),
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
