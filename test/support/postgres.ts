import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { withClient } from '../../scripts/bench/bench-database.ts';

/** The local test server. The password matches docker-compose.yml; under the machine's trust auth it is ignored. */
const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(ADMIN_URL, work);
}

/**
 * A fresh, empty database per caller, so test files running in parallel
 * never see each other's rows, migrations or locks.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `hub_t_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    // FORCE ends sessions a failed test left open, which would otherwise block the drop.
    drop: () => admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}
