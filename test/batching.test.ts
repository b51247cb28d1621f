import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedFleet, withDb } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { connectSteadily } from './support/steady-connect.ts';

let testHub: TestHub;

beforeAll(async () => {
  testHub = await startTestHub('batching');
});
afterAll(() => testHub.close());

async function scrapeRoundTrips(): Promise<number> {
  const text = await (await fetch(testHub.httpUrl('/metrics'))).text();
  const line = text.split('\n').find((l) => l.startsWith('hub_store_round_trips_total '));
  return Number(line!.split(' ')[1]);
}

it('writes thousands of frames from hundreds of drivers in far fewer database round trips', async () => {
  const drivers = 200;
  const framesEach = 20;
  const ids = await seedFleet(testHub, drivers);
  const clients = await Promise.all(ids.map((id) => connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`))));
  await Promise.all(clients.map((client) => client.waitFor((m) => m.t === 'hello')));
  const before = await scrapeRoundTrips();

  for (let seq = 1; seq <= framesEach; seq++) {
    clients.forEach((client, i) => client.send({ t: 'loc', seq, lat: 40.7 + i * 1e-4, lng: -73.9 - seq * 1e-5 }, 'msgpack'));
  }
  await Promise.all(clients.map((client) => client.waitFor((m) => m.t === 'ack' && m.seq === framesEach)));
  const roundTrips = (await scrapeRoundTrips()) - before;
  const frames = drivers * framesEach;

  const stored = await withDb(testHub.db.url, (db) => db.query<{ n: number }>('SELECT count(*)::int AS n FROM driver_locations'));
  expect(stored.rows[0]!.n).toBe(frames);
  // One round trip per batch: a per-frame design would need `frames` of them.
  expect(roundTrips).toBeGreaterThan(0);
  expect(roundTrips).toBeLessThan(frames / 20);
  clients.forEach((client) => client.close());
});
