import { sql } from 'drizzle-orm';
import {
  bigint,
  customType,
  doublePrecision,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from 'drizzle-orm/pg-core';
import { DRIVER_STATUSES, VEHICLE_TYPES } from '../protocol/limits.ts';

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
     * The position as a unit vector. Chord distance orders points exactly as
     * great-circle distance does, so a GiST KNN scan on it ranks drivers
     * without the earthdistance extension or a sequential scan.
     */
    pos: cube('pos').generatedAlwaysAs(
      sql`CASE WHEN lat IS NULL OR lng IS NULL THEN NULL ELSE cube(ARRAY[cos(radians(lat)) * cos(radians(lng)), cos(radians(lat)) * sin(radians(lng)), sin(radians(lat))]) END`,
    ),
  },
  (table) => [
    index('drivers_online_pos_gist').using('gist', table.pos).where(sql`status = 'online'`),
  ],
);

export const driverLocations = pgTable(
  'driver_locations',
  {
    driverId: integer('driver_id')
      .notNull()
      .references(() => drivers.id, { onDelete: 'cascade' }),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    lat: doublePrecision('lat').notNull(),
    lng: doublePrecision('lng').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    // (driver_id, seq) is the exactly-once guard for history rows.
    primaryKey({ columns: [table.driverId, table.seq] }),
    index('driver_locations_track').on(table.driverId, table.recordedAt),
  ],
);

export type DriverRow = typeof drivers.$inferSelect;
