import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { readinessReportSchema } from '../src/protocol/rest.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { startPrivateRedis, type PrivateRedis } from '../tools/testkit/private-redis.ts';
import { connectSteadily } from './support/steady-connect.ts';

let redis: PrivateRedis;
let testHub: TestHub;
let ids: number[];

beforeAll(async () => {
  redis = await startPrivateRedis();
  testHub = await startTestHub('redis-outage', { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200' });
  ids = await seedFleet(testHub, 1000);
});
afterAll(async () => {
  await testHub.close();
  await redis.stop();
});

it('answers nearby from SQL with the same drivers, and keeps acking frames, while Redis is down', async () => {
  const rider = await connectSteadily(testHub.wsUrl('/ws/rider'));
  const query = { t: 'nearby', lat: 40.7589, lng: -73.9851, radiusKm: 4, limit: 20 };
  let asked = 0;
  const ask = async () => {
    const id = `before-${++asked}`;
    rider.send({ ...query, id });
    return rider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === id);
  };
  // The index answers to begin with. Waited for: on a loaded machine one search may miss the short deadline and be answered from SQL.
  let before = await ask();
  await expect.poll(async () => (before = await ask()).source, { timeout: 5000, interval: 100 }).toBe('redis');
  expect(before.drivers.length).toBe(20);

  await redis.stop();
  const stoppedAt = Date.now();
  rider.send({ ...query, id: 'during' });
  const during = await rider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === 'during');
  expect(Date.now() - stoppedAt).toBeLessThan(1000);
  expect(during.source).toBe('sql');
  expect(during.drivers.map((d) => d.id)).toEqual(before.drivers.map((d) => d.id));

  const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${ids[0]}`));
  await driver.waitFor((m) => m.t === 'hello');
  driver.send({ t: 'loc', seq: 1, lat: 40.75, lng: -73.98 });
  await driver.waitFor((m) => m.t === 'ack' && m.seq === 1);

  const ready = readinessReportSchema.parse(await (await fetch(testHub.httpUrl('/readyz'))).json());
  expect(ready).toMatchObject({ ready: true, postgres: 'up', geo: { state: 'down' } });
  driver.close();
  rider.close();
});
