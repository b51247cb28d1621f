import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { MIGRATION_LOCK_KEY, MIGRATIONS_FOLDER } from './migrations.ts';
import { createSqlStore } from './sql-store.ts';
import type { Store } from './types.ts';

export interface PostgresStoreOptions {
  url: string;
  poolSize: number;
  /** Per-statement timeout, so a stuck server surfaces as an error instead of a hang. */
  statementTimeoutMs?: number;
  onError?: (error: Error) => void;
}

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: 5000,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs,
    application_name: 'dispatch-hub',
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', (error) => options.onError?.(error));
  const db = drizzle({ client: pool });

  return createSqlStore({
    kind: 'postgres',
    db,
    async migrate() {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).finally(() => client.release());
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close: () => pool.end(),
  });
}
