import { sql } from 'drizzle-orm';
import { check, doublePrecision, index, integer, pgEnum, pgTable, primaryKey, smallint, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { OFFER_ANSWERS, RIDE_STATUSES } from '../domain/ride.ts';
import { drivers, vehicleTypeEnum } from './schema.ts';

export const rideStatusEnum = pgEnum('ride_status', RIDE_STATUSES);
export const offerAnswerEnum = pgEnum('offer_answer', OFFER_ANSWERS);

const at = (name: string) => timestamp(name, { withTimezone: true });

/**
 * One row per ride request, from `requested` to its end. Every status change
 * is one UPDATE conditional on the current status (see sql-ride-store.ts),
 * and each transition stamps its own column, so the row is its own history.
 */
export const rides = pgTable(
  'rides',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    riderId: text('rider_id').notNull(),
    driverId: integer('driver_id').references(() => drivers.id),
    status: rideStatusEnum('status').notNull().default('requested'),
    pickupLat: doublePrecision('pickup_lat').notNull(),
    pickupLng: doublePrecision('pickup_lng').notNull(),
    dropoffLat: doublePrecision('dropoff_lat'),
    dropoffLng: doublePrecision('dropoff_lng'),
    vehicleType: vehicleTypeEnum('vehicle_type'),
    /** The dispatch wave whose offers are out (0 before the first); advancing it is the conditional write that owns the next wave. */
    wave: smallint('wave').notNull().default(0),
    /** When the current wave's offers expire, while the ride is `requested`: a sweep can find rides whose timer died with its process. */
    waveDeadline: at('wave_deadline'),
    requestedAt: at('requested_at').notNull().defaultNow(),
    assignedAt: at('assigned_at'),
    arrivedAt: at('arrived_at'),
    startedAt: at('started_at'),
    completedAt: at('completed_at'),
    cancelledAt: at('cancelled_at'),
    unmatchedAt: at('unmatched_at'),
    cancelledBy: text('cancelled_by'),
    cancelReason: text('cancel_reason'),
  },
  (table) => [
    // The database itself refuses a second open ride for a driver or a rider:
    // even a bug in the conditional writes could not double-assign a driver.
    uniqueIndex('rides_one_open_per_driver')
      .on(table.driverId)
      .where(sql`status IN ('assigned', 'arrived', 'started')`),
    uniqueIndex('rides_one_open_per_rider')
      .on(table.riderId)
      .where(sql`status IN ('requested', 'assigned', 'arrived', 'started')`),
    index('rides_waves_due')
      .on(table.waveDeadline)
      .where(sql`status = 'requested'`),
    check('rides_driver_once_assigned', sql`driver_id IS NOT NULL OR status IN ('requested', 'unmatched', 'cancelled')`),
    check('rides_cancelled_by', sql`cancelled_by IS NULL OR cancelled_by IN ('rider', 'driver')`),
  ],
);

/**
 * Every offer of every ride, kept after it ends, so a dispute ("I accepted
 * first") can be replayed: who was offered what in which wave, when, and how
 * and when each offer ended.
 */
export const offers = pgTable(
  'offers',
  {
    rideId: uuid('ride_id')
      .notNull()
      .references(() => rides.id, { onDelete: 'cascade' }),
    driverId: integer('driver_id')
      .notNull()
      .references(() => drivers.id),
    wave: smallint('wave').notNull(),
    /** The driver's distance to the pickup when offered. */
    distanceKm: doublePrecision('distance_km').notNull(),
    sentAt: at('sent_at').notNull().defaultNow(),
    expiresAt: at('expires_at').notNull(),
    /** Null while the offer is open. */
    answer: offerAnswerEnum('answer'),
    answeredAt: at('answered_at'),
  },
  (table) => [
    primaryKey({ columns: [table.rideId, table.driverId] }),
    // A driver holds at most one open offer, whichever hub process made it.
    uniqueIndex('offers_one_open_per_driver')
      .on(table.driverId)
      .where(sql`answer IS NULL`),
  ],
);
