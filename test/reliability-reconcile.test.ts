import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { withDb } from './support/fleet.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { dropFromCellGeoSet, indexDifferences, placeInIndex, readRedisIndex } from './support/index-check.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';
import { createSeededDatabase } from './support/seeded-database.ts';

const STALE_AFTER_MS = 600_000;
const RECONCILE_INTERVAL_MS = 1000;
/** Two hub processes start in the test itself (seconds each, tens of seconds on a loaded box); every wait gives up on its own before this. */
const TEST_TIMEOUT_MS = 120_000;

let db: PrivateDatabase;
let ids: number[];
const prefix = uniquePrefix('reconcile');
const hubs: HubProcess[] = [];

beforeAll(async () => {
  ({ db, ids } = await createSeededDatabase(100));
});
afterAll(async () => {
  await Promise.all(hubs.map(killHubProcess));
  await Promise.allSettled([db.drop(), dropPrefix(prefix)]);
});

async function startHub(label: string, reconcileIntervalMs: number): Promise<HubProcess> {
  const hub = await startHubProcess(
    {
      // Info level: each repair that changes the index logs what it wrote.
      LOG_LEVEL: 'info',
      DATABASE_URL: db.url,
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      STALE_AFTER_MS: String(STALE_AFTER_MS),
      RECONCILE_INTERVAL_MS: String(reconcileIntervalMs),
      RECONCILE_AUDIT_INTERVAL_MS: String(reconcileIntervalMs),
    },
    label,
  );
  hubs.push(hub);
  return hub;
}

function sharedRedisClient() {
  return createClient({ url: SHARED_REDIS_URL });
}

async function redis<T>(work: (client: ReturnType<typeof sharedRedisClient>) => Promise<T>): Promise<T> {
  const client = sharedRedisClient();
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/**
 * Four kinds of damage, by hand: a member deleted, a member at a wrong
 * position, an offline driver left in the index, and a row another writer
 * moved without telling Redis. Returns the drivers it touched.
 */
async function corruptIndex(victims: number[]): Promise<{ deleted: number; misplaced: number; offline: number; movedElsewhere: number }> {
  const [deleted, misplaced, offline, movedElsewhere] = victims as [number, number, number, number];
  const index = await readRedisIndex(SHARED_REDIS_URL, prefix);
  await redis(async (client) => {
    const held = index.get(deleted)!;
    await dropFromCellGeoSet(client, prefix, deleted, held.lat, held.lng);
    // A second copy in a far cell, as a crossed write could leave it, fresher than the right one.
    await placeInIndex(client, prefix, { id: misplaced, lat: 40.5, lng: -73.5, seenAtMs: Date.now() });
    // Left in the index as if it were still online, and fresh.
    await placeInIndex(client, prefix, { id: offline, lat: 40.7, lng: -73.9, seenAtMs: Date.now() });
  });
  await withDb(db.url, async (client) => {
    await client.query(`UPDATE drivers SET status = 'offline' WHERE id = $1`, [offline]);
    await client.query(`UPDATE drivers SET lat = 40.8, lng = -73.95, updated_at = now() WHERE id = $1`, [movedElsewhere]);
  });
  return { deleted, misplaced, offline, movedElsewhere };
}

it(
  'repairs a deliberately corrupted index on its periodic pass, and the same repair runs at start',
  async () => {
    const periodic = await startHub('reconcile-periodic', RECONCILE_INTERVAL_MS);
    expect(await indexDifferences(SHARED_REDIS_URL, prefix, db.url, STALE_AFTER_MS)).toEqual([]);

    const logBefore = periodic.output().length;
    const damaged = await corruptIndex(ids.slice(0, 4));
    await expect
      .poll(() => indexDifferences(SHARED_REDIS_URL, prefix, db.url, STALE_AFTER_MS), {
        timeout: 10 * RECONCILE_INTERVAL_MS,
        interval: 100,
        message: 'the periodic pass repairs the index',
      })
      .toEqual([]);
    // The passes themselves say what they fixed, one member at least per damage: the incremental pass
    // takes the changed rows (the driver moved and the one set offline), the audit the rest; which one
    // gets to a changed row first depends on timing. (A pass may run while the damage is being done,
    // so the work can be split over several.)
    const lines = periodic.output().slice(logBefore).split('\n');
    const audited = lines
      .filter((line) => line.includes('geo index repaired from the database'))
      .map((line) => JSON.parse(line) as { applied: number; removed: number });
    const caughtUp = lines.filter((line) => line.includes('geo index caught up with the database')).map((line) => JSON.parse(line) as { repaired: number });
    const fixed = audited.reduce((sum, pass) => sum + pass.applied, 0) + caughtUp.reduce((sum, pass) => sum + pass.repaired, 0);
    expect(fixed).toBeGreaterThanOrEqual(4);
    expect(audited.reduce((sum, pass) => sum + pass.removed, 0)).toBeGreaterThanOrEqual(1);
    const index = await readRedisIndex(SHARED_REDIS_URL, prefix);
    expect(index.get(damaged.deleted)).toBeDefined();
    expect(index.get(damaged.misplaced)).not.toMatchObject({ lat: 40.5, lng: -73.5 });
    expect(index.has(damaged.offline)).toBe(false);
    expect(index.get(damaged.movedElsewhere)).toMatchObject({ lat: 40.8, lng: -73.95 });

    periodic.signal('SIGTERM');
    await periodic.exited;
    await corruptIndex(ids.slice(4, 8));
    expect(await indexDifferences(SHARED_REDIS_URL, prefix, db.url, STALE_AFTER_MS)).toHaveLength(4);
    // With the periodic pass an hour away, only the start-up repair can fix it.
    await startHub('reconcile-startup', 3_600_000);
    expect(await indexDifferences(SHARED_REDIS_URL, prefix, db.url, STALE_AFTER_MS)).toEqual([]);
  },
  TEST_TIMEOUT_MS,
);
