import { z } from 'zod';
import { VEHICLE_TYPES } from '../domain/driver.ts';
import { OFFER_CANCEL_REASONS, RIDE_STATUSES } from '../domain/ride.ts';
import { latitude, longitude, requestId } from './fields.ts';

/** Longest cancel reason kept; it is stored with the ride for support, not parsed. */
export const CANCEL_REASON_MAX_LENGTH = 200;

const place = () => z.strictObject({ lat: latitude(), lng: longitude() });
/** Rides are named by the UUID the hub gave them in `ride.requested`. */
const rideId = () => z.uuid();

// ---- rider to hub ----

export const rideRequestSchema = z.strictObject({
  t: z.literal('ride.request'),
  id: requestId(),
  pickup: place(),
  dropoff: place().optional(),
  vehicleType: z.enum(VEHICLE_TYPES).optional(),
});

/** Rider or driver: ends an open ride that has not started. */
export const rideCancelSchema = z.strictObject({
  t: z.literal('ride.cancel'),
  rideId: rideId(),
  reason: z.string().max(CANCEL_REASON_MAX_LENGTH).optional(),
});

// ---- driver to hub ----

export const offerAcceptSchema = z.strictObject({ t: z.literal('offer.accept'), rideId: rideId() });
export const offerDeclineSchema = z.strictObject({ t: z.literal('offer.decline'), rideId: rideId() });
export const rideArrivedSchema = z.strictObject({ t: z.literal('ride.arrived'), rideId: rideId() });
export const rideStartedSchema = z.strictObject({ t: z.literal('ride.started'), rideId: rideId() });
export const rideCompletedSchema = z.strictObject({ t: z.literal('ride.completed'), rideId: rideId() });

export type RideRequest = z.infer<typeof rideRequestSchema>;
export type RideCancel = z.infer<typeof rideCancelSchema>;
export type OfferAccept = z.infer<typeof offerAcceptSchema>;
export type OfferDecline = z.infer<typeof offerDeclineSchema>;
export type RideLifecycleFrame = z.infer<typeof rideArrivedSchema> | z.infer<typeof rideStartedSchema> | z.infer<typeof rideCompletedSchema>;

// ---- hub to clients ----
// Not strict, like every hub message: a v1 client keeps working when a later hub adds a field.

const point = z.object({ lat: z.number(), lng: z.number() });

/** The assigned driver, as the rider sees them. Position is null before the driver's first fix. */
export const rideDriverInfoSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  vehicleType: z.string(),
  rating: z.number(),
  lat: z.number().nullable(),
  lng: z.number().nullable(),
});

export const rideRequestedMessageSchema = z.object({
  t: z.literal('ride.requested'),
  /** The `id` of the `ride.request` it answers. */
  id: z.union([z.string(), z.number()]),
  rideId: z.string(),
});

export const offerMessageSchema = z.object({
  t: z.literal('offer'),
  rideId: z.string(),
  pickup: point,
  dropoff: point.optional(),
  vehicleType: z.string().optional(),
  /** From the driver's committed position to the pickup, great-circle. */
  distanceKm: z.number(),
  /** Epoch ms: after it, silence has declined the offer. */
  expiresAt: z.number(),
});

export const offerCancelledMessageSchema = z.object({
  t: z.literal('offer.cancelled'),
  rideId: z.string(),
  reason: z.enum(OFFER_CANCEL_REASONS),
});

/** To the driver who won the ride. */
export const rideAssignedToDriverSchema = z.object({
  t: z.literal('ride.assigned'),
  rideId: z.string(),
  rider: z.string(),
  pickup: point,
  dropoff: point.optional(),
});

/** To the rider: who is coming, and how far away they are now. */
export const rideAssignedToRiderSchema = z.object({
  t: z.literal('ride.assigned'),
  rideId: z.string(),
  driver: rideDriverInfoSchema,
  /** Great-circle km from the driver's position to the pickup; null before the driver's first fix. */
  etaKm: z.number().nullable(),
});

export const rideAssignedMessageSchema = z.union([rideAssignedToDriverSchema, rideAssignedToRiderSchema]);

export const rideUnmatchedMessageSchema = z.object({ t: z.literal('ride.unmatched'), rideId: z.string() });

/** One lifecycle transition, to both parties. */
export const rideStatusMessageSchema = z.object({
  t: z.literal('ride.status'),
  rideId: z.string(),
  status: z.enum(RIDE_STATUSES),
  /** Epoch ms of the transition, as the database stamped it. */
  at: z.number(),
  /** Who cancelled, and why (cancellations only). */
  by: z.enum(['rider', 'driver']).optional(),
  reason: z.string().optional(),
});

/** The assigned driver's committed position, to the rider, while the ride is `assigned` or `arrived`. */
export const rideDriverMessageSchema = z.object({
  t: z.literal('ride.driver'),
  rideId: z.string(),
  lat: z.number(),
  lng: z.number(),
  /** Epoch ms the position was committed. */
  at: z.number(),
});

/** An open ride, sent on (re)connect so a client picks up where it was. */
export const rideStateMessageSchema = z.object({
  t: z.literal('ride.state'),
  rideId: z.string(),
  status: z.enum(RIDE_STATUSES),
  at: z.number(),
  pickup: point,
  dropoff: point.optional(),
  vehicleType: z.string().optional(),
  /** To the driver: whose ride it is. */
  rider: z.string().optional(),
  /** To the rider, once assigned: who is coming. */
  driver: rideDriverInfoSchema.optional(),
});

export type RideDriverInfo = z.infer<typeof rideDriverInfoSchema>;
export type RideRequestedMessage = z.infer<typeof rideRequestedMessageSchema>;
export type OfferMessage = z.infer<typeof offerMessageSchema>;
export type OfferCancelledMessage = z.infer<typeof offerCancelledMessageSchema>;
export type RideAssignedToDriver = z.infer<typeof rideAssignedToDriverSchema>;
export type RideAssignedToRider = z.infer<typeof rideAssignedToRiderSchema>;
export type RideAssignedMessage = z.infer<typeof rideAssignedMessageSchema>;
export type RideUnmatchedMessage = z.infer<typeof rideUnmatchedMessageSchema>;
export type RideStatusMessage = z.infer<typeof rideStatusMessageSchema>;
export type RideDriverMessage = z.infer<typeof rideDriverMessageSchema>;
export type RideStateMessage = z.infer<typeof rideStateMessageSchema>;

/** Everything dispatch sends. */
export type RideServerMessage =
  | RideRequestedMessage
  | OfferMessage
  | OfferCancelledMessage
  | RideAssignedMessage
  | RideUnmatchedMessage
  | RideStatusMessage
  | RideDriverMessage
  | RideStateMessage;
