import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { bruteForceNearby, type BruteForceQuery } from './support/brute-force.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { type TestClient } from './support/ws-client.ts';
import { connectSteadily } from './support/steady-connect.ts';

let testHub: TestHub;
let rider: TestClient;

beforeAll(async () => {
  testHub = await startTestHub('nearby');
  await seedFleet(testHub, 3000);
  rider = await connectSteadily(testHub.wsUrl('/ws/rider'));
});
afterAll(async () => {
  rider.close();
  await testHub.close();
});

let nextId = 0;
async function ask(query: Partial<BruteForceQuery> & { lat: number; lng: number }, encoding: 'json' | 'msgpack' = 'json') {
  const id = `q${++nextId}`;
  const mark = rider.received.length;
  rider.send({ t: 'nearby', id, ...query }, encoding);
  const answer = await rider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === id, 10_000, mark);
  return { answer, binary: rider.received.find((entry) => (entry.message as { id?: string }).id === id)!.binary };
}

function expectSameRanking(actual: NearbyResultMessage['drivers'], expected: NearbyResultMessage['drivers']) {
  expect(actual.map((d) => d.id)).toEqual(expected.map((d) => d.id));
  actual.forEach((driver, i) => expect(Math.abs(driver.distanceKm - expected[i]!.distanceKm)).toBeLessThan(0.001));
}

describe('nearby over the rider socket', () => {
  it('equals a brute-force great-circle ranking, with the defaults of 5 km and 10 drivers', async () => {
    const { answer } = await ask({ lat: 40.7589, lng: -73.9851 });
    expect(answer.source).toBe('redis');
    expect(answer.drivers).toHaveLength(10);
    expectSameRanking(answer.drivers, await bruteForceNearby(testHub, { lat: 40.7589, lng: -73.9851, radiusKm: 5, limit: 10 }));
    expect(typeof answer.ms).toBe('number');
  });

  it('applies radius, limit, vehicle type and minimum rating filters', async () => {
    const queries: BruteForceQuery[] = [
      { lat: 40.77, lng: -73.97, radiusKm: 2, limit: 100 },
      { lat: 40.74, lng: -74.0, radiusKm: 3, limit: 25, vehicleType: 'van' },
      { lat: 40.76, lng: -73.99, radiusKm: 8, limit: 40, minRating: 4.8 },
      { lat: 40.76, lng: -73.99, radiusKm: 50, limit: 100, vehicleType: 'xl', minRating: 4.5 },
      { lat: 40.9, lng: -73.7, radiusKm: 0.5, limit: 10 },
    ];
    for (const query of queries) {
      const { answer } = await ask(query);
      expectSameRanking(answer.drivers, await bruteForceNearby(testHub, query));
      for (const driver of answer.drivers) {
        if (query.vehicleType) expect(driver.vehicleType).toBe(query.vehicleType);
        if (query.minRating) expect(driver.rating).toBeGreaterThanOrEqual(query.minRating);
      }
    }
  });

  it('answers a msgpack query in msgpack and a JSON query in JSON', async () => {
    expect((await ask({ lat: 40.7589, lng: -73.9851, limit: 3 }, 'msgpack')).binary).toBe(true);
    expect((await ask({ lat: 40.7589, lng: -73.9851, limit: 3 }, 'json')).binary).toBe(false);
  });

  it('serves drivers beyond Redis geohash latitudes (±85.05°) from SQL without taking the index down', async () => {
    const [polarId] = await testHub.hub.store.insertDrivers([
      { name: 'Polar Pat', phone: '+1-212-555-0000', vehicleType: 'xl', rating: 4.9, totalRides: 0, status: 'online', lat: 89.5, lng: 10 },
    ]);
    const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${polarId}`));
    await driver.waitFor((m) => m.t === 'hello');
    driver.send({ t: 'loc', seq: 1, lat: 89.6, lng: 11 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === 1);
    const polar = await ask({ lat: 89.59, lng: 11, radiusKm: 10 });
    expect(polar.answer.source).toBe('sql');
    expect(polar.answer.drivers.map((d) => d.id)).toEqual([polarId]);
    const city = await ask({ lat: 40.7589, lng: -73.9851 });
    expect(city.answer.source).toBe('redis');
    expect(testHub.hub.health.state).toBe('up');
    driver.close();
  });

  it('lists only online drivers and puts a driver who went offline out of the answer', async () => {
    const { answer } = await ask({ lat: 40.7589, lng: -73.9851, limit: 1 });
    const nearest = answer.drivers[0]!;
    const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${nearest.id}`));
    await driver.waitFor((m) => m.t === 'hello');
    driver.send({ t: 'status', status: 'offline' });
    await driver.waitFor((m) => m.t === 'ack');
    const after = await ask({ lat: 40.7589, lng: -73.9851, limit: 5 });
    expect(after.answer.drivers.map((d) => d.id)).not.toContain(nearest.id);
    driver.close();
  });
});
