import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { MIGRATION_LOCK_KEY, MIGRATIONS_FOLDER } from './migrations.ts';
import { queuedDatabase } from './queued-database.ts';
import { createSqlRideStore } from './sql-ride-store.ts';
import { createSqlStore, type SqlStore } from './sql-store.ts';
import type { HistorySettings } from './types.ts';

export interface PostgresStoreOptions {
  url: string;
  poolSize: number;
  /** Connections for ride and offer transactions; 4 when absent. */
  dispatchPoolSize?: number;
  /** Per-statement timeout, so a stuck server surfaces as an error instead of a hang. */
  statementTimeoutMs?: number;
  /** Bound on opening a connection, so an unreachable server surfaces as an error instead of a hang. */
  connectTimeoutMs?: number;
  /** Batches the hub commits at once: the write pool holds one connection per batch, plus one. */
  batchesInFlight?: number;
  onError?: (error: Error) => void;
  history?: HistorySettings;
}

const CLIENT_TIMEOUT_MARGIN_MS = 1000;

/**
 * One write connection per batch in flight; the extra one stands in while a
 * connection that hit a timeout is being replaced.
 */
const SPARE_WRITE_CONNECTIONS = 1;
const DEFAULT_DISPATCH_POOL_SIZE = 4;

function createPool(options: PostgresStoreOptions, size: number, applicationName: string): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: size,
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    // The client-side bound catches what statement_timeout cannot: a server or
    // network that stopped answering. It fires a little later, so a merely slow
    // statement is cancelled by the server and the connection stays usable.
    query_timeout: options.statementTimeoutMs === undefined ? undefined : options.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
    application_name: applicationName,
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', (error) => options.onError?.(error));
  return pool;
}

export function createPostgresStore(options: PostgresStoreOptions): SqlStore {
  const pool = createPool(options, options.poolSize, 'dispatch-hub');
  // Writes get connections of their own: when reads saturate `pool` (every
  // rider on the SQL fallback), batches still commit and acks still flow.
  const writePool = createPool(options, (options.batchesInFlight ?? 1) + SPARE_WRITE_CONNECTIONS, 'dispatch-hub-ingest');

  // Ride transactions hold row locks across round trips: on a pool of their
  // own, neither a read flood nor a storm of accepts can hold up the other.
  const dispatchPoolSize = options.dispatchPoolSize ?? DEFAULT_DISPATCH_POOL_SIZE;
  const dispatchPool = createPool(options, dispatchPoolSize, 'dispatch-hub-rides');

  return createSqlStore({
    kind: 'postgres',
    history: options.history,
    rides: createSqlRideStore(queuedDatabase(drizzle({ client: dispatchPool }), dispatchPoolSize)),
    db: drizzle({ client: pool }),
    writeDb: drizzle({ client: writePool }),
    // A connection of its own, without the statement timeouts: a migration on a
    // big table, or waiting for another hub's migration lock, may take longer.
    async migrate() {
      const client = new pg.Client({
        connectionString: options.url,
        connectionTimeoutMillis: options.connectTimeoutMs,
        application_name: 'dispatch-hub-migrate',
      });
      client.on('error', (error) => options.onError?.(error));
      await client.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).finally(() => client.end());
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    close: async () => {
      await Promise.all([pool.end(), writePool.end(), dispatchPool.end()]);
    },
  });
}
