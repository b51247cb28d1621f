import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger.ts';
import { SearchRadius } from '../src/nearby/search-radius.ts';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { generateFleet } from '../src/seed/fleet.ts';
import { repairIndex } from '../src/sync/index-repair.ts';
import { bruteForceNearby, type BruteForceQuery } from './support/brute-force.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { type TestClient } from './support/ws-client.ts';
import { connectSteadily } from './support/steady-connect.ts';

const DENSE = { lat: 40.7589, lng: -73.9851 };
/** 20 km north-east: a sparse suburb the first, narrow search cannot cover. */
const SPARSE = { lat: 40.92, lng: -73.8 };

let testHub: TestHub;
let rider: TestClient;

beforeAll(async () => {
  // One rider asks many questions in a row here: lift its per-connection budget.
  testHub = await startTestHub('search-radius', { RIDER_QUERIES_PER_S: '1000', RIDER_QUERY_BURST: '1000' });
  const dense = [...generateFleet({ count: 3000, seed: 3, center: DENSE, radiusKm: 1, onlineShare: 1 })];
  const sparse = [...generateFleet({ count: 40, seed: 4, center: SPARSE, radiusKm: 12, onlineShare: 1 })];
  await testHub.hub.store.insertDrivers([...dense, ...sparse]);
  await repairIndex(testHub.hub.store, testHub.hub.geo, 60_000, createLogger('silent'));
  rider = await connectSteadily(testHub.wsUrl('/ws/rider'));
});
afterAll(async () => {
  rider.close();
  await testHub.close();
});

let nextId = 0;
async function ask(query: BruteForceQuery): Promise<NearbyResultMessage> {
  const id = `q${++nextId}`;
  const mark = rider.received.length;
  rider.send({ t: 'nearby', id, ...query });
  return rider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === id, 10_000, mark);
}

describe('the first search radius learned from recent answers', () => {
  it('starts at the full radius, then narrows to about twice where the limit-th driver usually is', () => {
    const radius = new SearchRadius();
    expect(radius.first(10, 5)).toBe(5);
    for (let i = 0; i < 50; i++) radius.learn(10, 0.3);
    expect(radius.first(10, 5)).toBeCloseTo(0.6, 5);
    expect(radius.first(40, 5)).toBeCloseTo(1.2, 5);
    expect(radius.first(10, 0.2)).toBe(0.2);
  });

  it('never starts at zero, even after answers whose drivers all stood at the query point', () => {
    const radius = new SearchRadius();
    radius.learn(60, 0);
    // A zero first radius never widened: the query searched forever (found by the parity property, seed 785719357).
    expect(radius.first(60, 5)).toBeGreaterThan(0);
    expect(radius.first(60, 0.01)).toBe(0.01);
  });

  it('still answers exactly where the fleet is much sparser than where it learned', async () => {
    // Queries in the dense centre teach the hub that ten drivers sit within a few hundred metres.
    for (let i = 0; i < 30; i++) await ask({ lat: DENSE.lat + (i % 5) * 1e-3, lng: DENSE.lng, radiusKm: 20, limit: 10 });
    for (const query of [
      { ...SPARSE, radiusKm: 20, limit: 10 },
      { ...SPARSE, radiusKm: 20, limit: 25 },
      { ...SPARSE, radiusKm: 3, limit: 10 },
      { ...DENSE, radiusKm: 20, limit: 10, vehicleType: 'van' },
      { ...DENSE, radiusKm: 20, limit: 100, minRating: 4.8 },
    ]) {
      const answer = await ask(query);
      expect(answer.source).toBe('redis');
      const expected = await bruteForceNearby(testHub, query);
      expect(answer.drivers.map((d) => d.id)).toEqual(expected.map((d) => d.id));
    }
  });
});
