import { sql, type SQL } from 'drizzle-orm';
import { EARTH_RADIUS_KM, RAD } from '../domain/geo.ts';
import type { DriverProfile, DriverRecord, NewDriver } from '../domain/driver.ts';
import type {
  Candidate,
  CandidateQuery,
  CommittedDriver,
  DriverChange,
  DriverPosition,
  HistorySettings,
  LocationBatch,
  LocationUpdate,
  Store,
} from './types.ts';
import { driverTrack, historyFloorMs, maintainHistory } from './history-sql.ts';
import { fleetMaintenance, type FleetMaintenance } from './fleet-maintenance.ts';
import type { RideStore } from './ride-store.ts';

/** What a drizzle database (node-postgres or PGlite) must offer: raw execution of a prepared SQL object. */
export interface SqlExecutor {
  execute(query: SQL): Promise<{ rows: Record<string, unknown>[] }>;
}

/** Unit-sphere coordinates, as stored in drivers.pos. */
function unitVector(lat: number, lng: number): [number, number, number] {
  const cosLat = Math.cos(lat * RAD);
  return [cosLat * Math.cos(lng * RAD), cosLat * Math.sin(lng * RAD), Math.sin(lat * RAD)];
}

/**
 * How far drivers.pos (snapped to a 0.001° grid, see schema.ts) can be from
 * the exact position: half a grid cell along each axis, 78.6 m at most.
 */
const POSITION_SNAP_KM = 0.079;
/** Past this many candidates a query has already read most of its radius. */
const MAX_FALLBACK_FETCH = 20_000;

function chordBetween(a: [number, number, number], b: [number, number, number]): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

/** Straight-line distance on the unit sphere between points `radiusKm` apart along the surface. */
function chordFor(radiusKm: number): number {
  return 2 * Math.sin(Math.min(Math.PI / 2, radiusKm / (2 * EARTH_RADIUS_KM)));
}

/**
 * A numeric array as a PostgreSQL array literal, bound as one text parameter
 * and cast in the statement. node-postgres's generic array serialiser
 * escapes element by element, about four times slower than a join, which on
 * a batch of thousands of frames is time the event loop spends on nothing.
 */
function numberArray(values: number[]): string {
  return `{${values.join(',')}}`;
}

const DRIVER_COLUMNS = ['id', 'name', 'phone', 'vehicle_type', 'rating', 'total_rides', 'status', 'lat', 'lng', 'updated_at', 'last_seq'];
const driverColumns = sql.raw(DRIVER_COLUMNS.join(', '));
/** The driver columns qualified by a table alias, for statements that join drivers with itself. */
const driverColumnsOf = (alias: string) => sql.raw(DRIVER_COLUMNS.map((column) => `${alias}.${column}`).join(', '));

function toRecord(row: Record<string, unknown>): DriverRecord {
  return {
    id: Number(row.id),
    name: String(row.name),
    phone: String(row.phone),
    vehicleType: row.vehicle_type as DriverRecord['vehicleType'],
    rating: Number(row.rating),
    totalRides: Number(row.total_rides),
    status: row.status as DriverRecord['status'],
    lat: row.lat === null ? null : Number(row.lat),
    lng: row.lng === null ? null : Number(row.lng),
    updatedAt: new Date(row.updated_at as string | Date).toISOString(),
    lastSeq: Number(row.last_seq),
  };
}

function toProfile(row: Record<string, unknown>): DriverProfile {
  return {
    id: Number(row.id),
    name: String(row.name),
    vehicleType: row.vehicle_type as DriverProfile['vehicleType'],
    rating: Number(row.rating),
    status: row.status as DriverProfile['status'],
  };
}

export interface SqlStoreOptions {
  kind: Store['kind'];
  rides: RideStore;
  db: SqlExecutor;
  /**
   * Where batch writes run; `db` when absent. A connection of their own means
   * a flood of reads (every rider on the SQL fallback) can never make acks wait.
   */
  writeDb?: SqlExecutor;
  migrate: () => Promise<void>;
  ping: () => Promise<void>;
  close: () => Promise<void>;
  /** Retention and partitions ahead for driver_locations; absent: keep everything, two days ahead. */
  history?: HistorySettings;
}

const KEEP_ALL_HISTORY: HistorySettings = { retentionDays: 0, aheadDays: 2 };

/**
 * The set-based SQL of the hub. It is plain PostgreSQL that PGlite runs
 * unchanged, so embedded and server mode share every query.
 *
 * Arrays are bound through sql.param: drizzle expands a bare array into a
 * `($1, $2, ...)` row, which no `::int[]` cast accepts, whereas one array
 * parameter binds on node-postgres and PGlite alike.
 */
/** The hub's store plus what the command-line tools need of the same database. */
export type SqlStore = Store & FleetMaintenance;

export function createSqlStore(options: SqlStoreOptions): SqlStore {
  const { db } = options;
  let roundTrips = 0;

  const writeDb = options.writeDb ?? db;
  const history = options.history ?? KEEP_ALL_HISTORY;

  async function run(query: SQL, executor: SqlExecutor = db): Promise<Record<string, unknown>[]> {
    roundTrips += 1;
    const result = await executor.execute(query);
    return result.rows;
  }

  return {
    kind: options.kind,
    rides: options.rides,
    get roundTrips() {
      return roundTrips;
    },
    migrate: options.migrate,
    ping: options.ping,
    close: options.close,
    ...fleetMaintenance(run),

    async writeBatch(batch: LocationBatch): Promise<CommittedDriver[]> {
      const floorMs = historyFloorMs(history, Date.now());
      const keptHistory = floorMs === null ? sql`` : sql`WHERE recorded_ms >= ${floorMs}::float8`;
      // One statement, so one round trip and one implicit transaction. Rows are
      // locked in id order so two hubs writing overlapping batches cannot deadlock,
      // and a frame is fresh only if its seq is above the locked row's last_seq,
      // which makes resends and cross-hub duplicates no-ops. NO KEY UPDATE is
      // the lock the UPDATE takes anyway; unlike FOR UPDATE it lets ride and
      // offer rows reference a driver (foreign-key checks) without waiting.
      // `busy` belongs to dispatch: a status frame cannot end it, the ride's
      // completion or cancellation does.
      const rows = await run(
        sql`
        WITH input AS (
          SELECT * FROM unnest(
            ${numberArray(batch.driverIds)}::int[], ${numberArray(batch.seqs)}::bigint[], ${numberArray(batch.lats)}::float8[], ${numberArray(batch.lngs)}::float8[],
            ${numberArray(batch.recordedAtMs)}::float8[], ${numberArray(batch.receivedAtMs)}::float8[]
          ) AS t(driver_id, seq, lat, lng, recorded_ms, received_ms)
        ),
        status_input AS (
          SELECT * FROM unnest(${sql.param(batch.statusDriverIds)}::int[], ${sql.param(batch.statuses)}::text[]) AS s(driver_id, status)
        ),
        touched AS (
          SELECT driver_id FROM input UNION SELECT driver_id FROM status_input
        ),
        locked AS (
          SELECT d.id, d.last_seq, d.lat AS previous_lat, d.lng AS previous_lng FROM drivers d JOIN touched t ON t.driver_id = d.id ORDER BY d.id FOR NO KEY UPDATE OF d
        ),
        fresh AS (
          SELECT i.* FROM input i JOIN locked l ON l.id = i.driver_id WHERE i.seq > l.last_seq
        ),
        newest AS (
          SELECT DISTINCT ON (driver_id) driver_id, seq, lat, lng FROM fresh ORDER BY driver_id, seq DESC
        ),
        history AS (
          INSERT INTO driver_locations (driver_id, seq, lat, lng, recorded_at, received_at)
          SELECT driver_id, seq, lat, lng, to_timestamp(recorded_ms / 1000.0), to_timestamp(received_ms / 1000.0)
          FROM fresh ${keptHistory}
        )
        UPDATE drivers d SET
          lat = coalesce(n.lat, d.lat),
          lng = coalesce(n.lng, d.lng),
          last_seq = coalesce(n.seq, d.last_seq),
          status = CASE WHEN d.status = 'busy' THEN d.status ELSE coalesce(s.status::driver_status, d.status) END,
          updated_at = CASE WHEN n.driver_id IS NULL AND s.driver_id IS NULL THEN d.updated_at ELSE now() END
        FROM locked l
          LEFT JOIN newest n ON n.driver_id = l.id
          LEFT JOIN status_input s ON s.driver_id = l.id
        WHERE d.id = l.id
        RETURNING d.id, d.last_seq, d.status, d.lat, d.lng, l.previous_lat, l.previous_lng, (extract(epoch from d.updated_at) * 1000)::float8 AS updated_ms
      `,
        writeDb,
      );
      return rows.map((row) => ({
        id: Number(row.id),
        lastSeq: Number(row.last_seq),
        status: row.status as CommittedDriver['status'],
        lat: row.lat === null ? null : Number(row.lat),
        lng: row.lng === null ? null : Number(row.lng),
        previousLat: row.previous_lat === null ? null : Number(row.previous_lat),
        previousLng: row.previous_lng === null ? null : Number(row.previous_lng),
        updatedAtMs: Number(row.updated_ms),
      }));
    },

    async resumePoints(ids: number[]): Promise<Map<number, number>> {
      const rows = await run(sql`SELECT id, last_seq FROM drivers WHERE id = ANY(${sql.param(ids)}::int[])`);
      return new Map(rows.map((row) => [Number(row.id), Number(row.last_seq)]));
    },

    async updateLocation(id: number, lat: number, lng: number): Promise<LocationUpdate | null> {
      // The previous position is read under the row lock, so it is the one the last writer left (see CommittedDriver).
      const rows = await run(sql`
        WITH previous AS (
          SELECT id, lat AS previous_lat, lng AS previous_lng FROM drivers WHERE id = ${id} FOR NO KEY UPDATE
        ),
        updated AS (
          UPDATE drivers d SET lat = ${lat}, lng = ${lng}, last_seq = d.last_seq + 1, updated_at = now()
          FROM previous p
          WHERE d.id = p.id
          RETURNING ${driverColumnsOf('d')}, p.previous_lat, p.previous_lng
        ),
        history AS (
          INSERT INTO driver_locations (driver_id, seq, lat, lng, recorded_at, received_at)
          SELECT id, last_seq, lat, lng, updated_at, updated_at FROM updated
        )
        SELECT * FROM updated
      `);
      const row = rows[0];
      if (!row) return null;
      return {
        driver: toRecord(row),
        previousLat: row.previous_lat === null ? null : Number(row.previous_lat),
        previousLng: row.previous_lng === null ? null : Number(row.previous_lng),
      };
    },

    async getDriver(id: number): Promise<DriverRecord | null> {
      const rows = await run(sql`SELECT ${driverColumns} FROM drivers WHERE id = ${id}`);
      return rows[0] ? toRecord(rows[0]) : null;
    },

    async getDrivers(ids: number[]): Promise<DriverRecord[]> {
      const rows = await run(sql`SELECT ${driverColumns} FROM drivers WHERE id = ANY(${sql.param(ids)}::int[])`);
      return rows.map(toRecord);
    },

    async nearestOnline(query: CandidateQuery): Promise<Candidate[]> {
      const origin = unitVector(query.lat, query.lng);
      // The index holds snapped positions: its box and order are widened by the
      // snap, and the radius itself is applied to the exact lat/lng.
      const snapChord = POSITION_SNAP_KM / EARTH_RADIUS_KM;
      const exactChord = chordFor(query.radiusKm) * (1 + 1e-9) + 1e-12;
      for (let fetch = query.limit * 2 + 16; ; fetch = Math.min(fetch * 4, MAX_FALLBACK_FETCH)) {
        // hub_nearest_online (drizzle/0004) pins the GiST KNN plan the planner would otherwise miss.
        const rows = await run(sql`
          SELECT * FROM hub_nearest_online(
            ${origin[0]}::float8, ${origin[1]}::float8, ${origin[2]}::float8,
            ${exactChord + snapChord}::float8, ${exactChord}::float8,
            to_timestamp(${query.freshSinceMs}::float8 / 1000.0), ${query.vehicleType ?? null}::text, ${query.minRating ?? null}::float8,
            ${fetch}::int
          )
        `);
        const ranked = rows
          .map((row) => ({ row, chord: chordBetween(unitVector(Number(row.lat), Number(row.lng)), origin) }))
          .sort((a, b) => a.chord - b.chord || Number(b.row.rating) - Number(a.row.rating) || Number(a.row.id) - Number(b.row.id));
        // The KNN scan ran in snapped order: a driver it did not reach is at
        // least the last snapped distance away, minus the snap. The answer is
        // final once the limit-th exact distance is below that.
        const last = ranked[query.limit - 1];
        const unreachedFrom = Number(rows.at(-1)?.snapped_chord ?? 0) - snapChord;
        if (rows.length < fetch || (last && last.chord < unreachedFrom) || fetch >= MAX_FALLBACK_FETCH) {
          return ranked.slice(0, query.limit).map(({ row }) => ({ ...toProfile(row), lat: Number(row.lat), lng: Number(row.lng) }));
        }
      }
    },

    async profilesChangedSince(sinceMs: number | null) {
      const since = sinceMs === null ? sql`TRUE` : sql`profile_updated_at > to_timestamp(${sinceMs}::float8 / 1000.0)`;
      const rows = await run(sql`
        SELECT id, name, vehicle_type, rating, status, (extract(epoch from profile_updated_at) * 1000)::float8 AS changed_ms
        FROM drivers WHERE ${since}
      `);
      let highWaterMs = sinceMs;
      for (const row of rows) highWaterMs = Math.max(highWaterMs ?? 0, Number(row.changed_ms));
      return { profiles: rows.map(toProfile), highWaterMs };
    },

    async insertDrivers(newDrivers: NewDriver[]): Promise<number[]> {
      if (newDrivers.length === 0) return [];
      const column = <K extends keyof NewDriver>(key: K) => sql.param(newDrivers.map((driver) => driver[key]));
      const rows = await run(sql`
        INSERT INTO drivers (name, phone, vehicle_type, rating, total_rides, status, lat, lng, updated_at)
        SELECT name, phone, vehicle_type::vehicle_type, rating, total_rides, status::driver_status, lat, lng, now()
        FROM unnest(
          ${column('name')}::text[], ${column('phone')}::text[], ${column('vehicleType')}::text[], ${column('rating')}::float8[],
          ${column('totalRides')}::int[], ${column('status')}::text[], ${column('lat')}::float8[], ${column('lng')}::float8[]
        ) WITH ORDINALITY AS t(name, phone, vehicle_type, rating, total_rides, status, lat, lng, ord)
        ORDER BY ord
        RETURNING id
      `);
      return rows.map((row) => Number(row.id));
    },

    async countDrivers(): Promise<number> {
      const rows = await run(sql`SELECT count(*)::int AS n FROM drivers`);
      return Number(rows[0]?.n ?? 0);
    },

    maintainHistory: (nowMs: number) => maintainHistory(run, history, nowMs),
    driverTrack: (query) => driverTrack(run, query),

    async vacuumPositions(): Promise<void> {
      // SKIP_LOCKED: with several hubs on one database, whoever is already vacuuming covers the others.
      await run(sql`VACUUM (SKIP_LOCKED) drivers`);
    },

    async onlinePositions(freshSinceMs: number): Promise<DriverPosition[]> {
      const rows = await run(sql`
        SELECT id, status, lat, lng, (extract(epoch from updated_at) * 1000)::float8 AS updated_ms
        FROM drivers
        WHERE status = 'online' AND lat IS NOT NULL AND lng IS NOT NULL
          AND updated_at >= to_timestamp(${freshSinceMs}::float8 / 1000.0)
      `);
      return rows.map((row) => ({
        id: Number(row.id),
        status: row.status as DriverPosition['status'],
        lat: Number(row.lat),
        lng: Number(row.lng),
        updatedAtMs: Number(row.updated_ms),
      }));
    },

    async driversChangedSince(sinceMs: number) {
      // No index on updated_at on purpose: every frame changes it, and an index
      // would make every position update a non-HOT one. The scan stays in
      // PostgreSQL; what leaves it, and everything after, follows the changes.
      const rows = await run(sql`
        SELECT id, status, lat, lng,
          (extract(epoch from updated_at) * 1000)::float8 AS updated_ms,
          (extract(epoch from greatest(updated_at, profile_updated_at)) * 1000)::float8 AS changed_ms,
          (extract(epoch from now()) * 1000)::float8 AS read_ms
        FROM drivers
        WHERE updated_at >= to_timestamp(${sinceMs}::float8 / 1000.0)
          OR profile_updated_at >= to_timestamp(${sinceMs}::float8 / 1000.0)
      `);
      const changes = rows.map((row) => ({
        id: Number(row.id),
        status: row.status as DriverChange['status'],
        lat: row.lat === null ? null : Number(row.lat),
        lng: row.lng === null ? null : Number(row.lng),
        updatedAtMs: Number(row.updated_ms),
        changedAtMs: Number(row.changed_ms),
      }));
      // With no rows there is no clock in the reply: the caller's watermark then stays where it was.
      return { changes, readAtMs: rows.length > 0 ? Number(rows[0]!.read_ms) : sinceMs };
    },
  };
}
