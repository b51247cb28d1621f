import type { Config } from '../config.ts';
import { createPgliteStore } from './pglite.ts';
import { createPostgresStore } from './postgres.ts';
import type { SqlStore } from './sql-store.ts';

/** PostgreSQL when DATABASE_URL is set, otherwise the embedded PGlite database in DATA_DIR. */
export async function openStore(config: Config, onPoolError?: (error: Error) => void): Promise<SqlStore> {
  const history = { retentionDays: config.HISTORY_RETENTION_DAYS, aheadDays: config.HISTORY_PARTITIONS_AHEAD_DAYS };
  if (!config.DATABASE_URL) return createPgliteStore({ dataDir: config.DATA_DIR, history });
  return createPostgresStore({
    history,
    url: config.DATABASE_URL,
    poolSize: config.PG_POOL_SIZE,
    dispatchPoolSize: config.PG_DISPATCH_POOL_SIZE,
    statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
    connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
    batchesInFlight: config.BATCHES_IN_FLIGHT,
    onError: onPoolError,
  });
}
