import { sql } from 'drizzle-orm';
import { bigint, customType, doublePrecision, index, integer, pgEnum, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { DRIVER_STATUSES, VEHICLE_TYPES } from '../domain/driver.ts';

/** The `cube` extension type: a point on the unit sphere, for GiST nearest-neighbour search. */
const cube = customType<{ data: string }>({ dataType: () => 'cube' });

export const vehicleTypeEnum = pgEnum('vehicle_type', VEHICLE_TYPES);
export const driverStatusEnum = pgEnum('driver_status', DRIVER_STATUSES);

export const drivers = pgTable(
  'drivers',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    name: text('name').notNull(),
    phone: text('phone').notNull(),
    vehicleType: vehicleTypeEnum('vehicle_type').notNull(),
    rating: doublePrecision('rating').notNull().default(5),
    totalRides: integer('total_rides').notNull().default(0),
    status: driverStatusEnum('status').notNull().default('offline'),
    lat: doublePrecision('lat'),
    lng: doublePrecision('lng'),
    /** Time of the last frame or status change the hub applied: "last seen". */
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    /** Highest location seq committed for this driver; the resume point and the duplicate guard. */
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
    /** Bumped by a trigger when name, phone, vehicle, rating or status change, so caches can refresh incrementally. */
    profileUpdatedAt: timestamp('profile_updated_at', { withTimezone: true }).notNull().defaultNow(),
    /**
     * The position snapped to a 0.001° grid, as a unit vector, for the GiST
     * nearest-neighbour index of the SQL fallback. Chord distance orders
     * points exactly as great-circle distance does. Snapping means a moving
     * driver changes `pos` only when it crosses a grid line (every ~100 m),
     * so most position updates touch no index and stay HOT; the fallback
     * query corrects for the snap (POSITION_SNAP_KM) with the exact lat/lng.
     */
    pos: cube('pos').generatedAlwaysAs(
      sql`CASE WHEN lat IS NULL OR lng IS NULL THEN NULL ELSE cube(ARRAY[cos(radians(round(lat * 1000.0) / 1000.0)) * cos(radians(round(lng * 1000.0) / 1000.0)), cos(radians(round(lat * 1000.0) / 1000.0)) * sin(radians(round(lng * 1000.0) / 1000.0)), sin(radians(round(lat * 1000.0) / 1000.0))]) END`,
    ),
  },
  (table) => [
    index('drivers_online_pos_gist')
      .using('gist', table.pos)
      .where(sql`status = 'online'`),
  ],
);

export const driverLocations = pgTable(
  'driver_locations',
  {
    // No foreign key and no (driver_id, seq) key: the batch statement only
    // inserts seqs above the driver's locked last_seq, which already makes
    // history exactly-once, and each extra check or index costs every frame.
    driverId: integer('driver_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    lat: doublePrecision('lat').notNull(),
    lng: doublePrecision('lng').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
  },
  (table) => [index('driver_locations_track').on(table.driverId, table.recordedAt)],
);
