import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteStore } from '../src/store/pglite.ts';
import { MIGRATIONS_FOLDER } from '../src/store/migrations.ts';
import { createPostgresStore } from '../src/store/postgres.ts';
import type { Store } from '../src/store/types.ts';
import { withDb } from './support/fleet.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';

const DAY_MS = 86_400_000;
const dayStart = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
const partitionOf = (ms: number) => `driver_locations_p${new Date(dayStart(ms)).toISOString().slice(0, 10).replaceAll('-', '')}`;

interface PartitionRow {
  name: string;
  rows: number;
}

/** Partitions of driver_locations in range order (default last) with their row counts. */
function partitions(url: string): Promise<PartitionRow[]> {
  return withDb(url, async (client) => {
    const { rows } = await client.query(`
      SELECT p.name, (SELECT count(*)::int FROM driver_locations d WHERE d.tableoid = p.name::regclass) AS rows
      FROM hub_history_partitions() p ORDER BY p.is_default, p.from_at`);
    return rows as PartitionRow[];
  });
}

/** A copy of the migrations folder holding only the migrations older than `tag`: a database as an older hub left it. */
async function migrationsBefore(tag: string): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'hub-migrations-'));
  await cp(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as { entries: Array<{ tag: string; when: number }> };
  const target = journal.entries.find((entry) => entry.tag === tag);
  expect(target).toBeDefined();
  // drizzle applies a migration when it is newer than the last one applied: "before" is by that clock.
  journal.entries = journal.entries.filter((entry) => entry.when < target!.when);
  await writeFile(journalPath, JSON.stringify(journal));
  return folder;
}

describe('migrating an existing history table', () => {
  let db: PrivateDatabase;
  beforeAll(async () => {
    db = await createPrivateDatabase();
  });
  afterAll(() => db.drop());

  it('attaches the old rows whole, sends rows dated ahead to the default partition, and moves them into their day once it exists', async () => {
    const now = Date.now();
    const older = await migrationsBefore('0006_partitioned_history');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await migrate(drizzle({ client }), { migrationsFolder: older });
      // 200 rows over the last 100 hours, and two dated 2 and 3 days ahead (device clocks running fast).
      await client.query(
        `
        INSERT INTO driver_locations (driver_id, seq, lat, lng, recorded_at, received_at)
        SELECT 1 + g % 2, g, 40.7, -73.9, to_timestamp(($1::float8 - g * 1800000) / 1000), now() FROM generate_series(1, 200) g`,
        [now],
      );
      await client.query(
        `INSERT INTO driver_locations VALUES (1, 1000, 40, -73, to_timestamp($1::float8 / 1000), now()), (1, 1001, 40, -73, to_timestamp($2::float8 / 1000), now())`,
        [now + 2 * DAY_MS, now + 3 * DAY_MS],
      );
    } finally {
      await client.end();
      await rm(older, { recursive: true, force: true });
    }

    const store = createPostgresStore({ url: db.url, poolSize: 2, history: { retentionDays: 0, aheadDays: 2 } });
    try {
      await store.migrate();
      expect(await partitions(db.url)).toEqual([
        { name: 'driver_locations_legacy', rows: 200 },
        { name: 'driver_locations_default', rows: 2 },
      ]);
      const report = await store.maintainHistory(now);
      // Today is inside the legacy range (it ends at tomorrow, UTC); tomorrow and the day after are made ahead.
      expect(report.created).toEqual([partitionOf(now + DAY_MS), partitionOf(now + 2 * DAY_MS)]);
      expect(report.rowsMoved).toBe(1);
      expect(await partitions(db.url)).toEqual([
        { name: 'driver_locations_legacy', rows: 200 },
        { name: partitionOf(now + DAY_MS), rows: 0 },
        { name: partitionOf(now + 2 * DAY_MS), rows: 1 },
        { name: 'driver_locations_default', rows: 1 },
      ]);
      const total = await withDb(db.url, (c) =>
        c.query('SELECT count(*)::int AS n, count(DISTINCT (driver_id, seq))::int AS distinct_rows FROM driver_locations'),
      );
      expect(total.rows[0]).toEqual({ n: 202, distinct_rows: 202 });
    } finally {
      await store.close();
    }
  });
});

describe('partitions ahead and retention', () => {
  let db: PrivateDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createPrivateDatabase();
    store = createPostgresStore({ url: db.url, poolSize: 2, history: { retentionDays: 7, aheadDays: 3 } });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('creates every day up to the horizon once, and a second pass creates nothing', async () => {
    const now = Date.now();
    const first = await store.maintainHistory(now);
    expect(first.created).toEqual([1, 2, 3].map((days) => partitionOf(now + days * DAY_MS)));
    expect(first.dropped).toEqual([]);
    const second = await store.maintainHistory(now);
    expect(second).toEqual({ created: [], dropped: [], busy: [], rowsMoved: 0 });
  });

  it('drops whole partitions once their day is past retention, without deleting a row from the ones it keeps', async () => {
    const now = Date.now();
    await store.maintainHistory(now);
    const kept = partitionOf(now + 3 * DAY_MS);
    await withDb(db.url, (c) =>
      c.query(
        `INSERT INTO driver_locations SELECT 5, g, 40, -73, to_timestamp($1::float8 / 1000) + g * interval '1 second', now() FROM generate_series(1, 50) g`,
        [dayStart(now + 3 * DAY_MS)],
      ),
    );
    // Nine days on, with 7 days kept: the legacy range and tomorrow's partition end before the cut; the day after ends after it.
    const later = now + 9 * DAY_MS;
    const report = await store.maintainHistory(later);
    expect(report.dropped).toEqual(['driver_locations_legacy', partitionOf(now + DAY_MS)]);
    expect(report.created).toEqual([0, 1, 2, 3].map((days) => partitionOf(later + days * DAY_MS)));
    const names = (await partitions(db.url)).map((p) => p.name);
    expect(names).toContain(kept);
    expect(names).toContain(partitionOf(now + 2 * DAY_MS));
    expect(names).not.toContain('driver_locations_legacy');
    expect((await partitions(db.url)).find((p) => p.name === kept)?.rows).toBe(50);
  });

  it('skips a partition a reader holds and reports it busy, then drops it on the next pass', async () => {
    const now = Date.now() + 9 * DAY_MS;
    const target = partitionOf(now + 3 * DAY_MS);
    const later = now + 20 * DAY_MS;
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    try {
      await reader.query('BEGIN');
      await reader.query(`LOCK TABLE ${target} IN ACCESS SHARE MODE`);
      const started = Date.now();
      const blocked = await store.maintainHistory(later);
      expect(blocked.busy).toContain(target);
      expect(blocked.dropped).not.toContain(target);
      // The pass gave up on the lock after its 500 ms lock_timeout instead of queueing ingest behind it.
      expect(Date.now() - started).toBeLessThan(10_000);
      await reader.query('ROLLBACK');
      const retried = await store.maintainHistory(later);
      expect(retried.dropped).toContain(target);
    } finally {
      await reader.end();
    }
  });

  it('leaves frames recorded before the retention horizon out of history, and keeps the rest', async () => {
    const [driverId] = await store.insertDrivers([
      { name: 'retention', phone: '+1-212-555-0100', vehicleType: 'economy', rating: 4.8, totalRides: 0, status: 'online', lat: 40.75, lng: -73.98 },
    ]);
    const now = Date.now();
    await store.writeBatch({
      driverIds: [driverId!, driverId!],
      seqs: [1, 2],
      lats: [40.75, 40.76],
      lngs: [-73.98, -73.97],
      recordedAtMs: [now - 8 * DAY_MS, now - 1000],
      receivedAtMs: [now, now],
      statusDriverIds: [],
      statuses: [],
    });
    const { rows } = await withDb(db.url, (c) => c.query('SELECT seq::int FROM driver_locations WHERE driver_id = $1 ORDER BY seq', [driverId]));
    expect(rows).toEqual([{ seq: 2 }]);
    expect((await store.resumePoints([driverId!])).get(driverId!)).toBe(2);
  });
});

it('runs the same migration and maintenance on embedded PGlite', async () => {
  const store = await createPgliteStore({ dataDir: undefined, history: { retentionDays: 2, aheadDays: 1 } });
  try {
    await store.migrate();
    const now = Date.now();
    expect((await store.maintainHistory(now)).created).toEqual([partitionOf(now + DAY_MS)]);
    const report = await store.maintainHistory(now + 5 * DAY_MS);
    expect(report.dropped).toEqual(['driver_locations_legacy', partitionOf(now + DAY_MS)]);
    expect(report.created).toEqual([0, 1].map((days) => partitionOf(now + (5 + days) * DAY_MS)));
  } finally {
    await store.close();
  }
});
