import pg from 'pg';
import { createRng } from '../../src/domain/random.ts';
import { createPostgresStore, type LocationBatch } from '../../src/public/setup.ts';

/**
 * The plainest set-based write of a batch of frames: move each driver and
 * append one history row per frame, in one statement. It is PostgreSQL's
 * own ceiling for the hub's work: no seq guard, no row locks taken ahead,
 * no status handling, no RETURNING to the client.
 */
const plainBatchSql = (drivers: string, history: string) => `
  WITH input AS (SELECT * FROM unnest($1::int[], $2::float8[], $3::float8[]) AS t(id, lat, lng)),
  moved AS (
    UPDATE ${drivers} d SET lat = i.lat, lng = i.lng, last_seq = d.last_seq + 1, updated_at = now()
    FROM input i WHERE d.id = i.id
    RETURNING d.id, d.last_seq, d.lat, d.lng
  )
  INSERT INTO ${history} (driver_id, seq, lat, lng, recorded_at, received_at)
  SELECT id, last_seq, lat, lng, now(), now() FROM moved`;

export interface PostgresCeilingOptions {
  url: string;
  firstId: number;
  drivers: number;
  batchRows: number;
  durationMs: number;
  center: { lat: number; lng: number };
}

export interface PostgresCeilings {
  batchRows: number;
  /** The plain statement over one connection: what one writer in flight can do. */
  plainOneConnectionRowsPerS: number;
  /** The plain statement over two connections on disjoint drivers: both cores busy. */
  plainTwoConnectionsRowsPerS: number;
  /** The hub's own writeBatch statement, called straight (no sockets, no batcher), one connection. */
  hubStatementRowsPerS: number;
  /**
   * The plain statement, one connection, on copies of the two tables with
   * only their btree indexes: no GiST position index, no history foreign
   * key, no profile trigger. What the schema's extras cost.
   */
  plainWithoutExtrasRowsPerS: number;
}

function arrayLiteral(values: number[]): string {
  return `{${values.join(',')}}`;
}

/** Batches over a driver id range, arrays pre-serialised so the client does as little as possible per statement. */
function plainBatches(firstId: number, drivers: number, batchRows: number, center: { lat: number; lng: number }): string[][] {
  const rng = createRng(4242);
  const batches: string[][] = [];
  for (let start = 0; start + batchRows <= drivers; start += batchRows) {
    const ids = Array.from({ length: batchRows }, (_, index) => firstId + start + index);
    const lats = ids.map(() => center.lat + (rng.next() - 0.5) * 0.2);
    const lngs = ids.map(() => center.lng + (rng.next() - 0.5) * 0.2);
    batches.push([arrayLiteral(ids), arrayLiteral(lats), arrayLiteral(lngs)]);
  }
  if (batches.length === 0) throw new RangeError(`need at least ${batchRows} drivers for one batch`);
  return batches;
}

async function runPlain(
  url: string,
  batches: string[][],
  durationMs: number,
  batchRows: number,
  tables = { drivers: 'drivers', history: 'driver_locations' },
): Promise<number> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-ceiling' });
  await client.connect();
  try {
    const started = performance.now();
    let rows = 0;
    const text = plainBatchSql(tables.drivers, tables.history);
    for (let i = 0; performance.now() - started < durationMs; i++) {
      await client.query({ name: `bench_plain_${tables.drivers}`, text, values: batches[i % batches.length] });
      rows += batchRows;
    }
    return (rows / (performance.now() - started)) * 1000;
  } finally {
    await client.end();
  }
}

async function runHubStatement(options: PostgresCeilingOptions): Promise<number> {
  const store = createPostgresStore({ url: options.url, poolSize: 1 });
  const probe = new pg.Client({ connectionString: options.url });
  await probe.connect();
  try {
    const { rows } = await probe.query<{ top: string }>('SELECT max(last_seq)::text AS top FROM drivers');
    let seq = Number(rows[0]!.top) + 1;
    const rng = createRng(777);
    const count = Math.min(options.drivers, options.batchRows);
    const driverIds = Array.from({ length: count }, (_, index) => options.firstId + index);
    const started = performance.now();
    let frames = 0;
    while (performance.now() - started < options.durationMs) {
      const now = Date.now();
      const batch: LocationBatch = {
        driverIds,
        seqs: driverIds.map(() => seq),
        lats: driverIds.map(() => options.center.lat + (rng.next() - 0.5) * 0.2),
        lngs: driverIds.map(() => options.center.lng + (rng.next() - 0.5) * 0.2),
        recordedAtMs: driverIds.map(() => now),
        receivedAtMs: driverIds.map(() => now),
        statusDriverIds: [],
        statuses: [],
      };
      await store.writeBatch(batch);
      frames += count;
      seq += 1;
    }
    return (frames / (performance.now() - started)) * 1000;
  } finally {
    await probe.end();
    await store.close();
  }
}

/** Copies of drivers and driver_locations with their btree indexes only, dropped after `work`. */
async function withoutExtras<T>(url: string, work: (tables: { drivers: string; history: string }) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'drivers' AND is_generated = 'NEVER' ORDER BY ordinal_position`,
    );
    const columns = rows.map((row) => `"${row.name}"`).join(', ');
    await client.query(`
      CREATE TABLE bench_plain_drivers (LIKE drivers INCLUDING DEFAULTS INCLUDING GENERATED);
      ALTER TABLE bench_plain_drivers ADD PRIMARY KEY (id);
      INSERT INTO bench_plain_drivers (${columns}) SELECT ${columns} FROM drivers;
      CREATE TABLE bench_plain_history (LIKE driver_locations INCLUDING DEFAULTS INCLUDING INDEXES);`);
    await client.query('VACUUM ANALYZE bench_plain_drivers');
    return await work({ drivers: 'bench_plain_drivers', history: 'bench_plain_history' });
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_plain_drivers, bench_plain_history');
    await client.end();
  }
}

/**
 * PostgreSQL's own batched-write ceiling on this machine, measured on the
 * run's database with the hub idle: the same tables, indexes and triggers
 * the hub writes to. Rows are frames: one driver update plus one history row.
 */
export async function measurePostgresCeilings(options: PostgresCeilingOptions): Promise<PostgresCeilings> {
  const batches = plainBatches(options.firstId, options.drivers, options.batchRows, options.center);
  const one = await runPlain(options.url, batches, options.durationMs, options.batchRows);
  const half = Math.max(1, Math.floor(batches.length / 2));
  const [left, right] = await Promise.all([
    runPlain(options.url, batches.slice(0, half), options.durationMs, options.batchRows),
    runPlain(options.url, batches.length > 1 ? batches.slice(half) : batches, options.durationMs, options.batchRows),
  ]);
  const hub = await runHubStatement(options);
  const bare = await withoutExtras(options.url, (tables) => runPlain(options.url, batches, options.durationMs, options.batchRows, tables));
  const round = (value: number) => Math.round(value);
  return {
    batchRows: options.batchRows,
    plainOneConnectionRowsPerS: round(one),
    plainTwoConnectionsRowsPerS: round(left + right),
    hubStatementRowsPerS: round(hub),
    plainWithoutExtrasRowsPerS: round(bare),
  };
}
