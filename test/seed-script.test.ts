import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet, TIMES_SQUARE } from '../src/seed/fleet.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';
import { runEntry } from './support/run-entry.ts';

let db: PrivateDatabase;
const prefix = uniquePrefix('seed-script');
beforeAll(async () => {
  db = await createPrivateDatabase({ prefix: 'seed_script' });
});
afterAll(() => Promise.allSettled([db.drop(), dropPrefix(prefix)]));

const seed = (...args: string[]) => runEntry('scripts/seed.ts', args, { env: { DATABASE_URL: db.url } });

/** Every column a rerun could disturb, by id. */
async function fleetRows(): Promise<unknown[]> {
  const { rows } = await db.query('SELECT id, name, phone, vehicle_type, rating, total_rides, status, lat, lng, updated_at FROM drivers ORDER BY id');
  return rows;
}

describe('npm run db:seed', () => {
  it('is idempotent for the same --seed, adds only what a larger --drivers lacks, and refuses another fleet unless --reset', async () => {
    const first = await seed('--drivers', '40', '--seed', '5');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^seeded 40 drivers of seed 5 in \d+ ms; 40 drivers in total\n$/);
    const seeded = await fleetRows();

    const again = await seed('--drivers', '40', '--seed', '5');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('the database already holds the first 40 drivers of seed 5 (40 drivers in total): nothing to do; --reset starts over\n');
    expect(await fleetRows()).toEqual(seeded);

    const more = await seed('--drivers', '60', '--seed', '5');
    expect(more.stdout).toMatch(/^seeded 20 drivers of seed 5 in \d+ ms \(the first 40 were there already\); 60 drivers in total\n$/);
    const grown = await fleetRows();
    expect(grown.slice(0, 40)).toEqual(seeded);
    // The 20 added are the seed's drivers 41..60, exactly as one run of 60 would have made them.
    const expected = [...generateFleet({ count: 60, seed: 5, center: TIMES_SQUARE, radiusKm: 15, onlineShare: 0.7 })];
    expect(grown.map((row) => (row as { name: string }).name)).toEqual(expected.map((driver) => driver.name));

    const other = await seed('--drivers', '30', '--seed', '6');
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(
      "the database holds 60 drivers that are not seed 6's fleet (driver 1 differs): nothing written; pass the --seed they came from, or --reset to replace them (deletes every driver and its history)\n",
    );
    expect(await fleetRows()).toEqual(grown);

    const reset = await seed('--drivers', '30', '--seed', '6', '--reset');
    expect(reset.code).toBe(0);
    const replaced = (await fleetRows()) as Array<{ id: number; name: string }>;
    expect(replaced.map((row) => row.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const sixth = [...generateFleet({ count: 30, seed: 6, center: TIMES_SQUARE, radiusKm: 15, onlineShare: 0.7 })];
    expect(replaced.map((row) => row.name)).toEqual(sixth.map((driver) => driver.name));
  }, 120_000);
});

describe('npm run setup:redis', () => {
  it('says how many drivers it skipped, and why', async () => {
    expect((await seed('--drivers', '30', '--seed', '6', '--reset')).code).toBe(0);
    const counts = await db.query<{ online: number; offline: number }>(
      `SELECT count(*) FILTER (WHERE status = 'online')::int AS online, count(*) FILTER (WHERE status <> 'online')::int AS offline FROM drivers`,
    );
    const { online, offline } = counts.rows[0]!;
    await db.query(`UPDATE drivers SET updated_at = now() - interval '1 hour' WHERE id IN (SELECT id FROM drivers WHERE status = 'online' ORDER BY id LIMIT 5)`);

    const result = await runEntry('scripts/setup-redis.ts', [], { env: { DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS_URL, REDIS_KEY_PREFIX: prefix } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^redis geo index at 127\\.0\\.0\\.1:6379 \\(prefix ${prefix}\\): ${online - 5} fresh online drivers indexed \\(${online - 5} written, 0 removed\\) in \\d+ ms; ` +
          `skipped ${offline + 5} of 30: 5 online but silent for over 30 s \\(STALE_AFTER_MS; each returns with its next frame\\), ${offline} offline\\n$`,
      ),
    );
  }, 60_000);
});
