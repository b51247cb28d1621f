import { z } from 'zod';
import { latitude, longitude, requestId } from './fields.ts';
import { nearbyCriteria } from './rider-messages.ts';
import { NEARBY_SOURCES, nearbyDriverSchema } from './server-messages.ts';

// Live nearby: a rider subscribes to the ranked drivers around a point and is
// sent the list again whenever it changes (docs/protocol.md, "Live nearby").

// ---- rider to hub (strict, like every client message) ----

/** Starts watching the drivers near a point: the same criteria and defaults as `nearby`. */
export const subscribeSchema = z.strictObject({ t: z.literal('subscribe'), ...nearbyCriteria });

/** Moves a subscription's centre (the rider moved, or panned the map); its other criteria stay. */
export const subscribeMoveSchema = z.strictObject({
  t: z.literal('subscribe.move'),
  id: requestId(),
  lat: latitude(),
  lng: longitude(),
});

export const unsubscribeSchema = z.strictObject({
  t: z.literal('unsubscribe'),
  id: requestId(),
});

// ---- hub to rider (not strict: a v1 client keeps working when a later hub adds a field) ----

/**
 * The subscription's ranked drivers, shaped and ordered like `nearby.result`:
 * at once on subscribe and on subscribe.move, then whenever the list changes.
 */
export const nearbyUpdateSchema = z.object({
  t: z.literal('nearby.update'),
  id: z.union([z.string(), z.number()]),
  drivers: z.array(nearbyDriverSchema),
  /** Where the latest full search came from; updates between searches come from committed positions. */
  source: z.enum(NEARBY_SOURCES),
  /** Milliseconds from the first change this update reports (or the request) to its sending. */
  ms: z.number(),
});

/** The subscription has ended: nothing more is sent for this id. */
export const unsubscribedSchema = z.object({
  t: z.literal('unsubscribed'),
  id: z.union([z.string(), z.number()]),
});

export type SubscribeMessage = z.infer<typeof subscribeSchema>;
export type SubscribeInput = z.input<typeof subscribeSchema>;
export type SubscribeMoveMessage = z.infer<typeof subscribeMoveSchema>;
export type UnsubscribeMessage = z.infer<typeof unsubscribeSchema>;
export type NearbyUpdateMessage = z.infer<typeof nearbyUpdateSchema>;
export type UnsubscribedMessage = z.infer<typeof unsubscribedSchema>;
export type SubscriptionId = SubscribeMessage['id'];
