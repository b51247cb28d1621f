import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateFleet, TIMES_SQUARE } from '../src/seed/fleet.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';
import { REPO_ROOT, runEntry, TSX_LOADER } from './support/run-entry.ts';

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
    expect(first.stdout).toMatch(/^seeding drivers: 40\/40 \(100%\)\nseeded 40 drivers of seed 5 in \d+ ms; 40 drivers in total\n$/);
    const seeded = await fleetRows();

    const again = await seed('--drivers', '40', '--seed', '5');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('the database already holds the first 40 drivers of seed 5 (40 drivers in total): nothing to do; --reset starts over\n');
    expect(await fleetRows()).toEqual(seeded);

    const more = await seed('--drivers', '60', '--seed', '5');
    expect(more.stdout).toMatch(/\nseeded 20 drivers of seed 5 in \d+ ms \(the first 40 were there already\); 60 drivers in total\n$/);
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
    // Five runs of the script: seconds each here, up to a minute on a machine loaded many times over.
  }, 300_000);
});

describe('npm run db:seed, interrupted', () => {
  it('stops after the chunk being written on SIGINT, exits 1, and a rerun completes the very same fleet', async () => {
    const args = ['--drivers', '60000', '--seed', '8', '--reset'];
    const child = spawn(process.execPath, ['--import', TSX_LOADER, 'scripts/seed.ts', ...args], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: 'none', DATABASE_URL: db.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await expect.poll(() => stdout, { timeout: 120_000, interval: 50 }).toContain('seeding drivers: 10000/60000');
    child.kill('SIGINT');
    expect(await exited, `${stdout}\n${stderr}`).toBe(1);
    const stopped = /stopped after (\d+) drivers of seed 8; \1 drivers in total: run the same command again to complete the fleet/.exec(stderr);
    expect(stopped, stderr).not.toBeNull();
    const inserted = Number(stopped![1]);
    expect(inserted % 10_000).toBe(0);

    const rerun = await seed('--drivers', '60000', '--seed', '8');
    expect(rerun.code).toBe(0);
    expect(rerun.stdout).toContain(`seeded ${60_000 - inserted} drivers of seed 8`);
    const { rows } = await db.query<{ n: number; names: string }>(
      `SELECT count(*)::int AS n, md5(string_agg(name || phone, ',' ORDER BY id)) AS names FROM drivers`,
    );
    const expected = [...generateFleet({ count: 60_000, seed: 8, center: TIMES_SQUARE, radiusKm: 15, onlineShare: 0.7 })];
    expect(rows[0]!.n).toBe(60_000);
    expect(rows[0]!.names).toBe(
      createHash('md5')
        .update(expected.map((driver) => driver.name + driver.phone).join(','))
        .digest('hex'),
    );
  }, 300_000);
});

describe('npm run setup:redis', () => {
  it('says how many drivers it skipped, and why', async () => {
    expect((await seed('--drivers', '30', '--seed', '6', '--reset')).code).toBe(0);
    const counts = await db.query<{ online: number; offline: number }>(
      `SELECT count(*) FILTER (WHERE status = 'online')::int AS online, count(*) FILTER (WHERE status <> 'online')::int AS offline FROM drivers`,
    );
    const { online, offline } = counts.rows[0]!;
    await db.query(
      `UPDATE drivers SET updated_at = now() - interval '1 hour' WHERE id IN (SELECT id FROM drivers WHERE status = 'online' ORDER BY id LIMIT 5)`,
    );

    const result = await runEntry('scripts/setup-redis.ts', [], { env: { DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS_URL, REDIS_KEY_PREFIX: prefix } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^redis geo index at 127\\.0\\.0\\.1:6379 \\(prefix ${prefix}\\): ${online - 5} fresh online drivers indexed \\(${online - 5} written, 0 removed\\) in \\d+ ms; ` +
          `skipped ${offline + 5} of 30: 5 online but silent for over 30 s \\(STALE_AFTER_MS; each returns with its next frame\\), ${offline} offline\\n$`,
      ),
    );
  }, 240_000);
});
