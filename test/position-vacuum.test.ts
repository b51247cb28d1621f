import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedFleet, withDb } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { connectSteadily } from './support/steady-connect.ts';

let vacuuming: TestHub;
let leftToAutovacuum: TestHub;

beforeAll(async () => {
  [vacuuming, leftToAutovacuum] = await Promise.all([
    startTestHub('vacuum', { POSITIONS_VACUUM_INTERVAL_MS: '200' }),
    startTestHub('no-vacuum', { POSITIONS_VACUUM_INTERVAL_MS: '0' }),
  ]);
});
afterAll(() => Promise.all([vacuuming.close(), leftToAutovacuum.close()]));

/** Manual VACUUMs of the drivers table so far (autovacuum runs are counted elsewhere). */
function vacuumCount(testHub: TestHub): Promise<number> {
  return withDb(testHub.db.url, async (db) => {
    const { rows } = await db.query<{ n: number }>(`SELECT vacuum_count::int AS n FROM pg_stat_user_tables WHERE relname = 'drivers'`);
    return rows[0]!.n;
  });
}

async function streamFrames(testHub: TestHub): Promise<void> {
  const [id] = await seedFleet(testHub, 5);
  const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`));
  await driver.waitFor((m) => m.t === 'hello');
  for (let seq = 1; seq <= 30; seq++) driver.send({ t: 'loc', seq, lat: 40.75 + seq * 1e-4, lng: -73.98 }, 'msgpack');
  await driver.waitFor((m) => m.t === 'ack' && (m as { seq: number }).seq === 30);
  driver.close();
}

it('vacuums the drivers table on its interval while batches rewrite it', async () => {
  await streamFrames(vacuuming);
  await expect.poll(() => vacuumCount(vacuuming), { timeout: 5000, interval: 200 }).toBeGreaterThanOrEqual(2);
  const { rows } = await withDb(vacuuming.db.url, (db) =>
    db.query<{ dead: number }>(`SELECT n_dead_tup::int AS dead FROM pg_stat_user_tables WHERE relname = 'drivers'`),
  );
  expect(rows[0]!.dead).toBeLessThan(30);
});

it('leaves the table to autovacuum when the interval is 0', async () => {
  await streamFrames(leftToAutovacuum);
  // An absence needs a yardstick: long enough for the other hub, on a 200 ms interval, to vacuum three more times.
  const yardstick = await vacuumCount(vacuuming);
  await expect.poll(() => vacuumCount(vacuuming), { timeout: 10_000, interval: 100 }).toBeGreaterThanOrEqual(yardstick + 3);
  expect(await vacuumCount(leftToAutovacuum)).toBe(0);
});
