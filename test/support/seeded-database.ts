import { generateFleet, TIMES_SQUARE } from '../../src/seed/fleet.ts';
import { createPostgresStore } from '../../src/store/postgres.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../../tools/testkit/database.ts';

/** A fresh test database, migrated, holding `count` online drivers; for tests whose hubs run as child processes. */
export async function createSeededDatabase(count: number, seed = 11): Promise<{ db: PrivateDatabase; ids: number[] }> {
  const db = await createPrivateDatabase();
  const store = createPostgresStore({ url: db.url, poolSize: 2 });
  try {
    await store.migrate();
    const ids = await store.insertDrivers([...generateFleet({ count, seed, center: TIMES_SQUARE, radiusKm: 6, onlineShare: 1 })]);
    return { db, ids };
  } finally {
    await store.close();
  }
}
