import pg from 'pg';
import { createPgliteStore } from '../../src/store/pglite.ts';
import { createPostgresStore } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/types.ts';
import { createPrivateDatabase } from '../../tools/testkit/database.ts';

/** A store plus a raw SQL side door, for seeding and for edits made behind the hub's back. */
export interface StoreHarness {
  store: Store;
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  dispose(): Promise<void>;
}

export interface StoreBackend {
  name: Store['kind'];
  open(): Promise<StoreHarness>;
}

/**
 * Both store backends, each opened empty: PGlite in memory and a private
 * PostgreSQL database. `dispatchPoolSize` gives the PostgreSQL store room for
 * many ride transactions at once (race tests need real concurrency).
 */
export function storeBackends(options: { dispatchPoolSize?: number } = {}): StoreBackend[] {
  return [
    {
      name: 'pglite',
      async open() {
        const store = await createPgliteStore({ dataDir: undefined });
        return {
          store,
          query: async (text, params) => (await store.pglite.query<Record<string, unknown>>(text, params)).rows,
          dispose: () => store.close(),
        };
      },
    },
    {
      name: 'postgres',
      async open() {
        const database = await createPrivateDatabase();
        const store = createPostgresStore({ url: database.url, poolSize: 4, ...options });
        const client = new pg.Client({ connectionString: database.url });
        await client.connect();
        return {
          store,
          query: async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows,
          async dispose() {
            await Promise.allSettled([store.close(), client.end()]);
            await database.drop();
          },
        };
      },
    },
  ];
}
