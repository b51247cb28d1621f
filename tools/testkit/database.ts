import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The local server's maintenance database. The password matches docker-compose.yml; under the machine's trust auth it is ignored. */
export const LOCAL_ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

/** Runs `work` on a short-lived connection of its own. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export interface PrivateDatabase {
  name: string;
  url: string;
  /** Runs SQL on this database through a short-lived connection. */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database of the caller's own on the server behind
 * `adminUrl`, so test files running in parallel (or a benchmark run) never
 * see each other's rows, migrations or locks. Only this database is ever
 * dropped.
 */
export async function createPrivateDatabase(options: { prefix?: string; adminUrl?: string } = {}): Promise<PrivateDatabase> {
  const adminUrl = options.adminUrl ?? LOCAL_ADMIN_URL;
  const name = `${(options.prefix ?? 'hub_t').replace(/[^0-9a-z_]/gi, '').toLowerCase()}_${randomBytes(6).toString('hex')}`;
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    query: (text, values) => withClient(url.toString(), (client) => client.query(text, values)),
    // FORCE ends sessions a failed run left open, which would otherwise block the drop.
    drop: () => withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
