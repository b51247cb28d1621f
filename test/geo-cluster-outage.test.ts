import { afterAll, beforeAll, expect, it } from 'vitest';
import { CELL_LAT_DEG, CELL_LNG_DEG, cellOf } from '../src/geo/cells.ts';
import { cellKeysFor } from '../src/geo/redis-index.ts';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../tools/testkit/redis-cluster.ts';
import { bruteForceNearby } from './support/brute-force.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { type TestClient } from './support/ws-client.ts';
import { connectSteadily } from './support/steady-connect.ts';

/**
 * The geo index on a 3-master Redis Cluster, one master killed: only the
 * searches that need its cells go to SQL (and still answer right), searches
 * and writes elsewhere stay on Redis, and once the master is back its cells
 * are repaired and serve searches again.
 */
let cluster: PrivateRedisCluster;
let testHub: TestHub;
let rider: TestClient;

/** The centre of the cell holding a point: a 0.3 km search there touches that one cell only. */
function cellCentre(lat: number, lng: number): { lat: number; lng: number } {
  return {
    lat: (Math.floor((lat + 90) / CELL_LAT_DEG) + 0.5) * CELL_LAT_DEG - 90,
    lng: (Math.floor((lng + 180) / CELL_LNG_DEG) + 0.5) * CELL_LNG_DEG - 180,
  };
}

beforeAll(async () => {
  cluster = await startPrivateRedisCluster(3);
  testHub = await startTestHub('cluster-outage', {
    REDIS_URL: '',
    REDIS_CLUSTER_NODES: cluster.nodes.join(','),
    REDIS_COMMAND_TIMEOUT_MS: '300',
    REDIS_PROBE_INTERVAL_MS: '200',
    RIDER_QUERIES_PER_S: '1000',
    RIDER_QUERY_BURST: '10000',
  });
  // 3,000 drivers over 12 km: about 40 cells, spread over the three masters.
  await seedFleet(testHub, 3000, 7, 12);
  rider = await connectSteadily(testHub.wsUrl('/ws/rider'));
});
afterAll(async () => {
  rider?.close();
  await testHub?.close();
  await cluster?.stop();
});

let queries = 0;
async function nearby(at: { lat: number; lng: number }, radiusKm: number): Promise<NearbyResultMessage> {
  const id = `q${++queries}`;
  rider.send({ t: 'nearby', id, lat: at.lat, lng: at.lng, radiusKm, limit: 10 });
  return rider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === id, 10_000);
}

async function expectExact(at: { lat: number; lng: number }, radiusKm: number, source: string): Promise<void> {
  const answer = await nearby(at, radiusKm);
  expect(answer.source).toBe(source);
  const expected = await bruteForceNearby(testHub, { ...at, radiusKm, limit: 10 });
  expect(answer.drivers.map((d) => d.id)).toEqual(expected.map((d) => d.id));
}

it('a killed master sends only searches over its cells to SQL, keeps writes elsewhere on Redis, and serves its cells again after repair', async () => {
  // Pick, among the fleet's cells, one served by the master to be killed and one served by another.
  const positions = await testHub.hub.store.onlinePositions(0);
  const cells = new Map<string, { lat: number; lng: number }>();
  for (const p of positions) if (!cells.has(cellOf(p.lat, p.lng))) cells.set(cellOf(p.lat, p.lng), cellCentre(p.lat, p.lng));
  const owners = await Promise.all([...cells.keys()].map(async (cell) => ({ cell, master: await cluster.masterOf(cellKeysFor(testHub.prefix, cell)[0]) })));
  const victim = owners[0]!.master;
  const onVictim = cells.get(owners.find((o) => o.master.port === victim.port)!.cell)!;
  const elsewhereCell = owners.find((o) => o.master.port !== victim.port)!.cell;
  const elsewhere = cells.get(elsewhereCell)!;
  expect(new Set(owners.map((o) => o.master.port)).size).toBe(3);

  await expectExact(onVictim, 0.3, 'redis');
  await expectExact(elsewhere, 0.3, 'redis');

  await cluster.kill(victim.port);
  // The first search over the dead master's cells fails over to SQL; every later one goes straight there.
  await expect.poll(async () => (await nearby(onVictim, 0.3)).source, { timeout: 10_000, interval: 100 }).toBe('sql');
  await expectExact(onVictim, 0.3, 'sql');
  // A wide search reaches the dead master's cells too: SQL, and still exact.
  await expectExact(onVictim, 5, 'sql');
  // Elsewhere nothing changed.
  await expectExact(elsewhere, 0.3, 'redis');

  // Writes to other cells go on: a driver moved by REST into the healthy cell is found there from Redis.
  const mover = positions.find((p) => cellOf(p.lat, p.lng) !== elsewhereCell)!.id;
  const moved = await fetch(testHub.httpUrl(`/api/drivers/${mover}/location`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ lat: elsewhere.lat, lng: elsewhere.lng }),
  });
  expect(moved.status).toBe(200);
  await expect.poll(async () => (await nearby(elsewhere, 0.05)).drivers.map((d) => d.id), { timeout: 5000, interval: 100 }).toContain(mover);
  // Waited for: on a loaded machine one search may miss the short deadline and be answered from SQL while the cells stay in service.
  await expect.poll(async () => (await nearby(elsewhere, 0.05)).source, { timeout: 5000, interval: 100 }).toBe('redis');
  expect(testHub.hub.health.state).toBe('up');

  // The master comes back empty; its cells are repaired from PostgreSQL, then searched on Redis again.
  await cluster.restart(victim.port);
  await expect.poll(async () => (await nearby(onVictim, 0.3)).source, { timeout: 20_000, interval: 200 }).toBe('redis');
  await expectExact(onVictim, 0.3, 'redis');
  await expectExact(onVictim, 5, 'redis');
});
