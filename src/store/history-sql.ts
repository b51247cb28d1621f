import { sql, type SQL } from 'drizzle-orm';
import type { HistoryMaintenance, HistorySettings, TrackPage, TrackQuery } from './types.ts';

const DAY_MS = 86_400_000;

/** Runs one statement and returns its rows (the store's own counter of round trips included). */
export type RunQuery = (query: SQL) => Promise<Record<string, unknown>[]>;

/**
 * The oldest recorded time history still keeps at `nowMs`, or null when it
 * keeps everything. A frame recorded before it is past retention on arrival:
 * the batch statement leaves it out of history, where the partition it
 * belongs to is dropped or about to be.
 */
export function historyFloorMs(settings: HistorySettings, nowMs: number): number | null {
  return settings.retentionDays > 0 ? nowMs - settings.retentionDays * DAY_MS : null;
}

/** One pass of hub_maintain_history (drizzle/0006): partitions ahead, retention behind. */
export async function maintainHistory(run: RunQuery, settings: HistorySettings, nowMs: number): Promise<HistoryMaintenance> {
  const rows = await run(sql`
    SELECT action, partition_name, rows_moved::float8 AS rows_moved
    FROM hub_maintain_history(${new Date(nowMs).toISOString()}::timestamptz, ${settings.aheadDays}::int, ${settings.retentionDays}::int)
  `);
  const report: HistoryMaintenance = { created: [], dropped: [], busy: [], rowsMoved: 0 };
  for (const row of rows) {
    const name = String(row.partition_name);
    if (row.action === 'created') report.created.push(name);
    else if (row.action === 'dropped') report.dropped.push(name);
    else report.busy.push(name);
    report.rowsMoved += Number(row.rows_moved);
  }
  return report;
}

/**
 * One page of a driver's track. The window's bounds are bound as timestamptz
 * parameters, so the planner sees constants and prunes every partition
 * outside the window before it opens (or locks) any. The cursor is exact to
 * the microsecond PostgreSQL stores: a sargable bound a millisecond early
 * plus an exact comparison on the integer microseconds.
 */
export async function driverTrack(run: RunQuery, query: TrackQuery): Promise<TrackPage> {
  const after = query.after
    ? sql`AND recorded_at >= to_timestamp(${Number(query.after.recordedAtUs)}::float8 / 1e6) - interval '1 millisecond'
          AND ((extract(epoch from recorded_at) * 1000000)::bigint, seq) > (${query.after.recordedAtUs.toString()}::bigint, ${query.after.seq}::bigint)`
    : sql``;
  const rows = await run(sql`
    SELECT seq, lat, lng,
      (extract(epoch from recorded_at) * 1000000)::bigint::text AS recorded_us,
      (extract(epoch from received_at) * 1000)::float8 AS received_ms
    FROM driver_locations
    WHERE driver_id = ${query.driverId}::int
      AND recorded_at >= ${new Date(query.fromMs).toISOString()}::timestamptz
      AND recorded_at < ${new Date(query.toMs).toISOString()}::timestamptz
      ${after}
    ORDER BY recorded_at, seq
    LIMIT ${query.limit + 1}::int
  `);
  const more = rows.length > query.limit;
  const page = more ? rows.slice(0, query.limit) : rows;
  const points = page.map((row) => ({
    seq: Number(row.seq),
    lat: Number(row.lat),
    lng: Number(row.lng),
    recordedAtMs: Math.floor(Number(row.recorded_us) / 1000),
    receivedAtMs: Number(row.received_ms),
  }));
  const last = page.at(-1);
  return { points, next: more && last ? { recordedAtUs: BigInt(String(last.recorded_us)), seq: Number(last.seq) } : null };
}
