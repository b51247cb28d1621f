import type { NewDriver } from '../src/domain/driver.ts';
import { generateFleet, TIMES_SQUARE } from '../src/public/fleet.ts';
import { createPostgresStore } from '../src/public/setup.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';

const INSERT_CHUNK = 10_000;

export type BenchDatabase = PrivateDatabase;

/**
 * A database of the run's own on the given server, migrated: the benchmark
 * never reads or writes any other database, and drops only this one.
 */
export async function createBenchDatabase(adminUrl: string, stamp: string): Promise<BenchDatabase> {
  const database = await createPrivateDatabase({ adminUrl, prefix: `hub_bench_${stamp}` });
  const store = createPostgresStore({ url: database.url, poolSize: 1 });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  return database;
}

export interface FleetSpec {
  count: number;
  seed: number;
  /** 1: every driver online; 0: every driver offline. */
  onlineShare: number;
  radiusKm: number;
}

/**
 * Seeds drivers the way `npm run db:seed` does (same generator, same
 * set-based insert), then VACUUM ANALYZE so the planner sees the new
 * table size as autovacuum would tell it soon after. Returns the new ids.
 */
export async function seedDrivers(database: BenchDatabase, spec: FleetSpec): Promise<{ firstId: number; lastId: number }> {
  const store = createPostgresStore({ url: database.url, poolSize: 1 });
  const ids: number[] = [];
  try {
    let chunk: NewDriver[] = [];
    for (const driver of generateFleet({ count: spec.count, seed: spec.seed, center: TIMES_SQUARE, radiusKm: spec.radiusKm, onlineShare: spec.onlineShare })) {
      chunk.push(driver);
      if (chunk.length === INSERT_CHUNK) {
        ids.push(...(await store.insertDrivers(chunk)));
        chunk = [];
      }
    }
    if (chunk.length > 0) ids.push(...(await store.insertDrivers(chunk)));
  } finally {
    await store.close();
  }
  await database.query('VACUUM ANALYZE drivers');
  const firstId = ids.reduce((min, id) => Math.min(min, id), Infinity);
  const lastId = ids.reduce((max, id) => Math.max(max, id), -Infinity);
  if (lastId - firstId + 1 !== ids.length) throw new Error(`seeded ids are not contiguous (${firstId}..${lastId} for ${ids.length})`);
  return { firstId, lastId };
}
