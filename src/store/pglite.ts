import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { cube } from '@electric-sql/pglite/contrib/cube';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { lockDataDir } from './data-dir-lock.ts';
import { MIGRATIONS_FOLDER } from './migrations.ts';
import { createSqlRideStore } from './sql-ride-store.ts';
import { createSqlStore, type SqlStore } from './sql-store.ts';
import type { HistorySettings } from './types.ts';

export interface PgliteStoreOptions {
  /** Directory PGlite persists to across restarts; undefined keeps the database in memory. */
  dataDir: string | undefined;
  history?: HistorySettings;
}

/** PGlite allows no second connection, so seeding and maintenance in the same process go through this handle. */
export interface PgliteStore extends SqlStore {
  readonly pglite: PGlite;
}

/**
 * Embedded mode: PostgreSQL compiled to WASM, in process. It runs the same
 * migrations and the same SQL as server mode, so only the driver differs.
 */
export async function createPgliteStore(options: PgliteStoreOptions): Promise<PgliteStore> {
  // PGlite creates only the last path segment itself, so a nested DATA_DIR would fail on first start.
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true });
  const unlock = options.dataDir === undefined ? async () => undefined : await lockDataDir(options.dataDir);
  const client = await PGlite.create({ dataDir: options.dataDir, extensions: { cube } });
  const db = drizzle({ client });

  const store = createSqlStore({
    kind: 'pglite',
    history: options.history,
    rides: createSqlRideStore(db),
    db,
    // No advisory lock: PGlite has a single connection and the data dir lock
    // keeps other processes out, so migrators cannot race. The drizzle journal table
    // makes a second run a no-op.
    async migrate() {
      await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async ping() {
      await client.query('SELECT 1');
    },
    async close() {
      if (!client.closed) await client.close();
      await unlock();
    },
  });
  // Assigned onto the store itself: copying it into a new object would freeze the roundTrips getter.
  return Object.assign(store, { pglite: client });
}
