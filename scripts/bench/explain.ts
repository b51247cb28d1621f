import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { createSqlStore } from '../../src/store/sql-store.ts';
import type { CandidateQuery, LocationBatch } from '../../src/store/types.ts';

/**
 * EXPLAIN (ANALYZE, BUFFERS) of the hub's own statements, captured by
 * wrapping the store's executor: the plans are of the exact SQL the hub
 * runs, not of a copy that could drift from it. ANALYZE executes the
 * statement, so an explained batch is really written.
 */
export async function explainHubStatements(url: string, work: (store: ReturnType<typeof createSqlStore>) => Promise<void>): Promise<string[]> {
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'bench-explain' });
  const db = drizzle({ client: pool });
  const plans: string[] = [];
  const store = createSqlStore({
    kind: 'postgres',
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

/** The SQL fallback's nearest-driver search, explained on a warm cache (the second of two runs). */
export async function explainNearest(url: string, query: CandidateQuery): Promise<string> {
  const plans = await explainHubStatements(url, async (store) => {
    await store.nearestOnline(query);
    await store.nearestOnline(query);
  });
  return plans.at(-1) ?? '';
}

/** One full batch through the hub's writeBatch statement. */
export async function explainWriteBatch(url: string, batch: LocationBatch): Promise<string> {
  const plans = await explainHubStatements(url, (store) => store.writeBatch(batch).then(() => undefined));
  return plans.at(-1) ?? '';
}
