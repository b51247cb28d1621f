import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { connectSteadily } from './support/steady-connect.ts';

let testHub: TestHub;
let ids: number[];

beforeAll(async () => {
  // One read connection, so a single stuck read holds all of them.
  testHub = await startTestHub('write-isolation', { PG_POOL_SIZE: '1', PG_STATEMENT_TIMEOUT_MS: '20000' });
  ids = await seedFleet(testHub, 2);
});
afterAll(() => testHub.close());

it('keeps committing and acking frames while every read connection is stuck', async () => {
  const [streaming, blocked] = ids as [number, number];
  const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${streaming}`));
  await driver.waitFor((m) => m.t === 'hello');

  // Another writer holds the blocked driver's row; the REST update for it then
  // waits on that lock while holding the hub's only read connection.
  const locker = new pg.Client({ connectionString: testHub.db.url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('SELECT 1 FROM drivers WHERE id = $1 FOR UPDATE', [blocked]);
  const stuckRead = fetch(testHub.httpUrl(`/api/drivers/${blocked}/location`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lat: 40.7, lng: -73.9 }),
  });
  // The update is stuck once the hub's read connection waits on the row lock.
  const readWaitingOnLock = async () => {
    const { rows } = await locker.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dispatch-hub' AND wait_event_type = 'Lock'`,
    );
    return rows[0]!.n;
  };
  await expect.poll(readWaitingOnLock, { timeout: 10_000, interval: 20 }).toBe(1);

  try {
    for (let seq = 1; seq <= 20; seq++) driver.send({ t: 'loc', seq, lat: 40.75, lng: -73.98 + seq * 1e-5 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === 20, 5000);
  } finally {
    await locker.query('ROLLBACK');
    await locker.end();
  }
  expect((await stuckRead).status).toBe(200);
  driver.close();
});
