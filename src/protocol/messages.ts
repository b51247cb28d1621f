import type { z } from 'zod';
import { locationFrameSchema, statusFrameSchema } from './driver-messages.ts';
import { nearbyQuerySchema } from './rider-messages.ts';
import {
  offerAcceptSchema,
  offerCancelledMessageSchema,
  offerDeclineSchema,
  offerMessageSchema,
  rideArrivedSchema,
  rideAssignedMessageSchema,
  rideCancelSchema,
  rideCompletedSchema,
  rideDriverMessageSchema,
  rideRequestedMessageSchema,
  rideRequestSchema,
  rideStartedSchema,
  rideStateMessageSchema,
  rideStatusMessageSchema,
  rideUnmatchedMessageSchema,
} from './ride-messages.ts';
import { ackMessageSchema, errorMessageSchema, helloMessageSchema, nearbyResultMessageSchema } from './server-messages.ts';
import { nearbyUpdateSchema, subscribeMoveSchema, subscribeSchema, unsubscribedSchema, unsubscribeSchema } from './subscription-messages.ts';

export * from './driver-messages.ts';
export * from './ride-messages.ts';
export * from './rider-messages.ts';
export * from './server-messages.ts';
export * from './subscription-messages.ts';

/**
 * The message tables: every message of protocol v1, by direction, keyed by
 * its `t`. To add a message, define its schema in the file of its area
 * (driver-messages.ts, rider-messages.ts, server-messages.ts, or a new one
 * such as ride-messages.ts) and add one line here: parsing, decoding and the
 * union types below follow from the table.
 */

/** What a driver socket accepts. */
export const driverMessageSchemas = {
  loc: locationFrameSchema,
  status: statusFrameSchema,
  'offer.accept': offerAcceptSchema,
  'offer.decline': offerDeclineSchema,
  'ride.arrived': rideArrivedSchema,
  'ride.started': rideStartedSchema,
  'ride.completed': rideCompletedSchema,
  'ride.cancel': rideCancelSchema,
} as const;

/** What a rider socket accepts. */
export const riderMessageSchemas = {
  nearby: nearbyQuerySchema,
  subscribe: subscribeSchema,
  'subscribe.move': subscribeMoveSchema,
  unsubscribe: unsubscribeSchema,
  'ride.request': rideRequestSchema,
  'ride.cancel': rideCancelSchema,
} as const;

/** Everything the hub sends, to drivers and riders alike. */
export const serverMessageSchemas = {
  hello: helloMessageSchema,
  ack: ackMessageSchema,
  'nearby.result': nearbyResultMessageSchema,
  'nearby.update': nearbyUpdateSchema,
  unsubscribed: unsubscribedSchema,
  error: errorMessageSchema,
  'ride.requested': rideRequestedMessageSchema,
  offer: offerMessageSchema,
  'offer.cancelled': offerCancelledMessageSchema,
  'ride.assigned': rideAssignedMessageSchema,
  'ride.unmatched': rideUnmatchedMessageSchema,
  'ride.status': rideStatusMessageSchema,
  'ride.driver': rideDriverMessageSchema,
  'ride.state': rideStateMessageSchema,
} as const;

type MessageOf<Table extends Record<string, z.ZodType>> = z.infer<Table[keyof Table]>;

export type DriverMessage = MessageOf<typeof driverMessageSchemas>;
export type RiderMessage = MessageOf<typeof riderMessageSchemas>;
export type ServerMessage = MessageOf<typeof serverMessageSchemas>;
export type DriverMessageType = keyof typeof driverMessageSchemas;
export type RiderMessageType = keyof typeof riderMessageSchemas;
export type ServerMessageType = keyof typeof serverMessageSchemas;
