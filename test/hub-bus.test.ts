import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startHub, type Hub } from '../src/hub.ts';
import { createLogger } from '../src/logger.ts';
import type { ServerMessage } from '../src/protocol/messages.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { startPrivateRedis, type PrivateRedis } from '../tools/testkit/private-redis.ts';
import { isMessage } from './support/ride-parties.ts';
import { connectSteadily } from './support/steady-connect.ts';
import type { TestClient } from './support/ws-client.ts';

/**
 * The cross-process bus on one private redis-server: two hubs in this
 * process, one database, behaving as one hub (pushes, takeover, live nearby).
 * test/scale-out.test.ts runs the same promises on real processes and a
 * Redis Cluster.
 */
let redis: PrivateRedis;
let db: PrivateDatabase;
let hubs: [Hub, Hub];

const CENTRE = { lat: 40.61, lng: -73.91 };

beforeAll(async () => {
  redis = await startPrivateRedis();
  db = await createPrivateDatabase();
  const start = (label: string) =>
    startHub(
      loadConfig({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: db.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: 'bus-test:',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        DISPATCH_OFFER_TIMEOUT_MS: '10000',
      }),
      { logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', { test: label }) },
    );
  // One after the other: the first migrates the shared database.
  const first = await start('bus-a');
  hubs = [first, await start('bus-b')];
}, 60_000);
afterAll(async () => {
  await Promise.allSettled((hubs ?? []).map((hub) => hub.close()));
  await Promise.allSettled([db?.drop(), redis?.stop()]);
});

const url = (hub: Hub, path: string) => `ws://127.0.0.1:${hub.port}${path}`;

async function newDriver(offsetKm: number): Promise<number> {
  const [id] = await hubs[0].store.insertDrivers([
    {
      name: `Bus Driver ${offsetKm}`,
      phone: '+1-555-0100',
      vehicleType: 'economy',
      rating: 4.5,
      totalRides: 0,
      status: 'online',
      lat: CENTRE.lat + offsetKm / 111,
      lng: CENTRE.lng,
    },
  ]);
  return id!;
}

async function connectDriver(hub: Hub, id: number): Promise<TestClient> {
  const client = await connectSteadily(url(hub, `/ws/driver?id=${id}`));
  await client.waitFor((m) => m.t === 'hello');
  return client;
}

/** Sends a position and waits for its ack. */
async function move(client: TestClient, seq: number, offsetKm: number): Promise<void> {
  client.send({ t: 'loc', seq, lat: CENTRE.lat + offsetKm / 111, lng: CENTRE.lng });
  await client.waitFor((m) => m.t === 'ack' && m.seq >= seq);
}

it('a driver socket on the other hub takes over: the first closes with 4001, the second stays', async () => {
  const id = await newDriver(5);
  const first = await connectDriver(hubs[0], id);
  const second = await connectDriver(hubs[1], id);
  expect((await first.waitForClose(5000)).code).toBe(4001);
  await move(second, 1, 5);
  expect(second.closeEvent).toBeUndefined();
  second.close();
});

it('a push from one hub reaches a driver and a rider connected to the other', async () => {
  const id = await newDriver(6);
  const driver = await connectDriver(hubs[1], id);
  const rider = await connectSteadily(url(hubs[1], '/ws/rider?id=bus-rider-1'));
  const message = { t: 'offer.cancelled', rideId: '00000000-0000-4000-8000-000000000001', reason: 'expired' } as const;
  // Presence is written as the sockets announce themselves: poll until the push finds them.
  await expect
    .poll(
      () => {
        hubs[0].connections.toDriver(id, message);
        return driver.received.some((entry) => isMessage('offer.cancelled')(entry.message));
      },
      { timeout: 5000, interval: 100 },
    )
    .toBe(true);
  await expect
    .poll(
      () => {
        hubs[0].connections.toRider('bus-rider-1', message);
        return rider.received.some((entry) => isMessage('offer.cancelled')(entry.message));
      },
      { timeout: 5000, interval: 100 },
    )
    .toBe(true);
  driver.close();
  rider.close();
});

/** Cell feed messages a hub has published: none while no other process watches the cells its drivers are in. */
async function cellPublishes(hub: Hub): Promise<number> {
  const { values } = await hub.metrics.busMessages.get();
  return values.find((value) => value.labels.direction === 'sent' && value.labels.kind === 'cell')?.value ?? 0;
}

it('a live nearby subscription on one hub sees a driver streaming to the other, and before it nothing was published', async () => {
  const id = await newDriver(0.3);
  const driver = await connectDriver(hubs[0], id);
  await move(driver, 1, 0.3);
  expect(await cellPublishes(hubs[0])).toBe(0);
  const rider = await connectSteadily(url(hubs[1], '/ws/rider?id=bus-rider-2'));
  rider.send({ t: 'subscribe', id: 's1', lat: CENTRE.lat, lng: CENTRE.lng, radiusKm: 2, limit: 5 });
  await rider.waitFor((m) => m.t === 'nearby.update' && m.drivers.some((d) => d.id === id));
  // Moves past the threshold until one reaches the rider through the cell feed (the publisher learns the cell is watched within a refresh).
  let seq = 1;
  const movedAway = (m: ServerMessage) => m.t === 'nearby.update' && m.drivers.some((d) => d.id === id && d.lat > CENTRE.lat + 0.35 / 111);
  await expect
    .poll(
      async () => {
        seq += 1;
        await move(driver, seq, 0.3 + Math.min(seq, 10) * 0.1);
        return rider.received.some((entry) => movedAway(entry.message));
      },
      { timeout: 8000, interval: 200 },
    )
    .toBe(true);
  expect(await cellPublishes(hubs[0])).toBeGreaterThan(0);
  driver.close();
  rider.close();
});

it('a ride requested on one hub is offered to a driver on the other, accepted there, and assigned once', async () => {
  const id = await newDriver(0.2);
  const driver = await connectDriver(hubs[0], id);
  driver.send({ t: 'status', status: 'online' });
  await move(driver, 1, 0.2);
  const rider = await connectSteadily(url(hubs[1], '/ws/rider?id=bus-rider-3'));
  rider.send({ t: 'ride.request', id: 'r1', pickup: CENTRE });
  const requested = await rider.waitFor((m) => m.t === 'ride.requested');
  const rideId = requested.t === 'ride.requested' ? requested.rideId : '';
  await driver.waitFor(isMessage('offer', rideId), 8000);
  driver.send({ t: 'offer.accept', rideId });
  await driver.waitFor(isMessage('ride.assigned', rideId), 8000);
  await rider.waitFor(isMessage('ride.assigned', rideId), 8000);
  const rows = await db.query<{ status: string; driver_id: number }>('SELECT status, driver_id FROM rides WHERE id = $1', [rideId]);
  expect(rows.rows).toEqual([{ status: 'assigned', driver_id: id }]);
  driver.close();
  rider.close();
});
