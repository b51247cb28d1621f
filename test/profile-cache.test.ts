import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { ProfileCache } from '../src/nearby/profile-cache.ts';
import { generateFleet, TIMES_SQUARE } from '../src/seed/fleet.ts';
import { createPostgresStore } from '../src/store/postgres.ts';
import type { Store } from '../src/store/types.ts';
import { withDb } from './support/fleet.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';

let db: PrivateDatabase;
let store: Store;
/** Profiles each refresh read from PostgreSQL, newest last: the real store, counted. */
const readPerRefresh: number[] = [];

beforeAll(async () => {
  db = await createPrivateDatabase();
  const real = createPostgresStore({ url: db.url, poolSize: 2 });
  await real.migrate();
  store = Object.assign(Object.create(real) as Store, {
    async profilesChangedSince(sinceMs: number | null) {
      const result = await real.profilesChangedSince(sinceMs);
      readPerRefresh.push(result.profiles.length);
      return result;
    },
  });
  await real.insertDrivers([...generateFleet({ count: 500, seed: 3, center: TIMES_SQUARE, radiusKm: 5, onlineShare: 0.5 })]);
});
afterAll(async () => {
  await store.close();
  await db.drop();
});

it('sees edits by other writers, and stops re-reading a bulk import once its window has settled', async () => {
  const cache = new ProfileCache(store, 60_000, createLogger('silent'));
  await cache.refresh();
  expect(cache.size).toBe(500);

  await withDb(db.url, (client) => client.query(`UPDATE drivers SET name = 'Edited Elsewhere', status = 'busy' WHERE id = 7`));
  await cache.refresh();
  expect(cache.get(7)).toMatchObject({ name: 'Edited Elsewhere', status: 'busy' });

  // Past the overlap window, a refresh reads only what changed since the mark. The
  // window is measured on this process's clock: move that clock past it rather than wait.
  const realNow = Date.now.bind(Date);
  const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 5200);
  try {
    await cache.refresh();
    await cache.refresh();
    expect(readPerRefresh.at(-1)).toBeLessThanOrEqual(1);

    await withDb(db.url, (client) => client.query(`UPDATE drivers SET rating = 1.5 WHERE id = 9`));
    await cache.refresh();
    expect(cache.get(9)?.rating).toBe(1.5);
    expect(readPerRefresh.at(-1)).toBeLessThanOrEqual(2);
  } finally {
    clock.mockRestore();
  }
});
