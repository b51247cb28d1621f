import { z } from 'zod';
import { ERROR_CODES } from './errors.ts';

// Hub to client. Not strict: a client built against v1 must keep working when
// a later hub adds a field, so unknown fields are dropped when decoding.

export const helloMessageSchema = z.object({
  t: z.literal('hello'),
  driverId: z.number().int(),
  /** The highest seq already durable for this driver: resend everything above it. */
  lastSeq: z.number().int().min(0),
});

export const ackMessageSchema = z.object({
  t: z.literal('ack'),
  /** Every frame of this driver up to seq is committed. */
  seq: z.number().int(),
});

export const NEARBY_SOURCES = ['redis', 'sql', 'memory'] as const;

export const nearbyDriverSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  vehicleType: z.string(),
  rating: z.number(),
  lat: z.number(),
  lng: z.number(),
  distanceKm: z.number(),
});

export const nearbyResultMessageSchema = z.object({
  t: z.literal('nearby.result'),
  id: z.union([z.string(), z.number()]),
  drivers: z.array(nearbyDriverSchema),
  source: z.enum(NEARBY_SOURCES),
  ms: z.number(),
});

export const errorMessageSchema = z.object({
  t: z.literal('error'),
  code: z.enum(ERROR_CODES),
  message: z.string(),
  /** The request id of the frame that failed, when one could be read from it. */
  id: z.union([z.string(), z.number()]).optional(),
  /** The seq of the `loc` frame that was refused, when one could be read from it: resend from there. */
  seq: z.number().optional(),
  /** The ride a refused ride action named (`offer.accept`, `ride.cancel`, …). */
  rideId: z.string().optional(),
  retryAfterMs: z.number().optional(),
});

export type HelloMessage = z.infer<typeof helloMessageSchema>;
export type AckMessage = z.infer<typeof ackMessageSchema>;
export type NearbyDriver = z.infer<typeof nearbyDriverSchema>;
export type NearbySource = (typeof NEARBY_SOURCES)[number];
export type NearbyResultMessage = z.infer<typeof nearbyResultMessageSchema>;
export type ErrorMessage = z.infer<typeof errorMessageSchema>;
