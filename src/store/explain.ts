import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { createSqlRideStore } from './sql-ride-store.ts';
import { createSqlStore } from './sql-store.ts';
import type { CandidateQuery, LocationBatch } from './types.ts';

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the hub's own statements, for the benchmark's
 * report (through src/public/setup.ts), captured by wrapping the store's
 * executor: the plans are of the exact SQL the hub runs, not of a copy that
 * could drift from it. ANALYZE executes the statement, so an explained batch
 * is really written.
 */
async function explainHubStatements(url: string, work: (store: ReturnType<typeof createSqlStore>) => Promise<void>): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'bench-explain' });
  const db = drizzle({ client: pool });
  const plans: string[] = [];
  const store = createSqlStore({
    kind: 'postgres',
    rides: createSqlRideStore(db),
    db: {
      async execute(query) {
        const result = await db.execute(sql`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${query}`);
        plans.push(result.rows.map((row) => String(row['QUERY PLAN'])).join('\n'));
        return { rows: [] };
      },
    },
    migrate: async () => undefined,
    ping: async () => undefined,
    close: () => pool.end(),
  });
  try {
    await work(store);
  } finally {
    await store.close();
  }
  return plans;
}

/**
 * The SQL fallback's nearest-driver search, explained on a warm cache (the
 * second of two runs). It runs inside the hub_nearest_online function, whose
 * plan plain EXPLAIN does not show, so auto_explain logs the nested statement
 * to this session as a notice.
 */
export async function explainNearest(url: string, query: CandidateQuery): Promise<string> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-explain' });
  const notices: string[] = [];
  client.on('notice', (notice) => notices.push(notice.message ?? ''));
  await client.connect();
  try {
    await client.query(`LOAD 'auto_explain'`);
    await client.query(`SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on;
      SET auto_explain.log_timing = on; SET auto_explain.log_nested_statements = on; SET client_min_messages = log`);
    const store = createSqlStore({
      kind: 'postgres',
      rides: createSqlRideStore(drizzle({ client })),
      db: drizzle({ client }),
      migrate: async () => undefined,
      ping: async () => undefined,
      close: async () => undefined,
    });
    await store.nearestOnline(query);
    notices.length = 0;
    await store.nearestOnline(query);
    return notices.find((notice) => notice.includes('drivers_online_pos_gist')) ?? notices.join('\n');
  } finally {
    await client.end();
  }
}

/** One full batch through the hub's writeBatch statement. */
export async function explainWriteBatch(url: string, batch: LocationBatch): Promise<string> {
  const plans = await explainHubStatements(url, (store) => store.writeBatch(batch).then(() => undefined));
  return plans.at(-1) ?? '';
}
