import { sql, type SQL } from 'drizzle-orm';
import type { VehicleType } from '../domain/driver.ts';

/** What tells one seeded driver from another: fixed by the seed, untouched by driving. */
export interface DriverIdentity {
  id: number;
  name: string;
  phone: string;
  vehicleType: VehicleType;
}

/** Every driver, by what a geo index load makes of it. */
export interface FleetFreshness {
  total: number;
  /** Online with a position seen since the cut-off: what the index holds. */
  fresh: number;
  /** Online with a position, but silent since before the cut-off. */
  stale: number;
  /** Online without any position yet. */
  noPosition: number;
  offline: number;
}

/** Operations of the command-line tools (seeding, loading Redis), not of the running hub. */
export interface FleetMaintenance {
  /** Up to `limit` drivers with an id above `afterId`, by id. */
  driverIdentities(afterId: number, limit: number): Promise<DriverIdentity[]>;
  /** Deletes every driver with its history (and anything referring to drivers), and numbers new drivers from 1 again. */
  deleteAllDrivers(): Promise<void>;
  countByFreshness(freshSinceMs: number): Promise<FleetFreshness>;
}

export function fleetMaintenance(run: (query: SQL) => Promise<Record<string, unknown>[]>): FleetMaintenance {
  return {
    async driverIdentities(afterId, limit) {
      const rows = await run(sql`SELECT id, name, phone, vehicle_type FROM drivers WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`);
      return rows.map((row) => ({ id: Number(row.id), name: String(row.name), phone: String(row.phone), vehicleType: row.vehicle_type as VehicleType }));
    },

    async deleteAllDrivers() {
      await run(sql`TRUNCATE drivers, driver_locations RESTART IDENTITY CASCADE`);
    },

    async countByFreshness(freshSinceMs) {
      const rows = await run(sql`
        SELECT
          count(*)::int AS total,
          (count(*) FILTER (WHERE status = 'online' AND lat IS NOT NULL AND updated_at >= to_timestamp(${freshSinceMs}::float8 / 1000.0)))::int AS fresh,
          (count(*) FILTER (WHERE status = 'online' AND lat IS NOT NULL AND updated_at < to_timestamp(${freshSinceMs}::float8 / 1000.0)))::int AS stale,
          (count(*) FILTER (WHERE status = 'online' AND lat IS NULL))::int AS no_position,
          (count(*) FILTER (WHERE status <> 'online'))::int AS offline
        FROM drivers
      `);
      const row = rows[0] ?? {};
      return {
        total: Number(row.total ?? 0),
        fresh: Number(row.fresh ?? 0),
        stale: Number(row.stale ?? 0),
        noPosition: Number(row.no_position ?? 0),
        offline: Number(row.offline ?? 0),
      };
    },
  };
}
