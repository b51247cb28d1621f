import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceChange } from '../src/bus/types.ts';
import type { CommittedPositions } from '../src/ingest/committed-positions.ts';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { type TestClient } from './support/ws-client.ts';
import { connectSteadily } from './support/steady-connect.ts';

// The seams dispatch and scale-out build on: the committed-positions event,
// presence per identity, and delivery of typed messages to an identity.

let testHub: TestHub;
let ids: number[];

beforeAll(async () => {
  testHub = await startTestHub('hub-seams');
  ids = await seedFleet(testHub, 2);
});
afterAll(() => testHub.close());

async function connectDriver(id: number): Promise<TestClient> {
  const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`));
  await driver.waitFor((m) => m.t === 'hello');
  return driver;
}

describe('ingest.committed', () => {
  it('reports each committed batch once, with the drivers it wrote as parallel arrays', async () => {
    const events: CommittedPositions[] = [];
    const unsubscribe = testHub.hub.ingest.committed.subscribe((event) => events.push(event));
    const id = ids[0]!;
    const driver = await connectDriver(id);
    driver.send({ t: 'status', status: 'online' });
    driver.send({ t: 'loc', seq: 1, lat: 40.71, lng: -74.01 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === 1);
    unsubscribe();
    const index = events.findIndex((event) => event.ids.includes(id));
    expect(index).toBeGreaterThanOrEqual(0);
    const event = events[index]!;
    const at = event.ids.indexOf(id);
    expect({ status: event.statuses[at], lat: event.lats[at], lng: event.lngs[at] }).toEqual({ status: 'online', lat: 40.71, lng: -74.01 });
    expect(event.seenAtMs[at]).toBeGreaterThan(Date.now() - 60_000);
    expect(new Set([event.ids.length, event.statuses.length, event.lats.length, event.lngs.length, event.seenAtMs.length]).size).toBe(1);
    driver.close();
  });

  it('reports a REST write too', async () => {
    const events: CommittedPositions[] = [];
    const unsubscribe = testHub.hub.ingest.committed.subscribe((event) => events.push(event));
    const id = ids[1]!;
    const response = await fetch(testHub.httpUrl(`/api/drivers/${id}/location`), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ lat: 40.72, lng: -74.02 }),
    });
    expect(response.status).toBe(200);
    unsubscribe();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ ids: [id], lats: [40.72], lngs: [-74.02] });
  });
});

describe('presence and delivery', () => {
  it('announces a driver after its hello, keeps it connected through a takeover, and reports it gone with its last socket', async () => {
    const id = ids[1]!;
    const changes: PresenceChange[] = [];
    const unsubscribe = testHub.hub.connections.presence.subscribe((change) => {
      if (change.identity.role === 'driver' && change.identity.driverId === id) changes.push(change);
    });
    const first = await connectDriver(id);
    expect(changes.map((change) => change.kind)).toEqual(['connected']);
    const second = await connectDriver(id);
    await first.waitForClose();
    expect(changes.map((change) => change.kind)).toEqual(['connected', 'connected']);

    expect(testHub.hub.connections.toDriver(id, { t: 'ack', seq: 0 })).toBe(true);
    await second.waitFor((m) => m.t === 'ack' && m.seq === 0);

    second.close();
    await expect.poll(() => changes.map((change) => change.kind)).toEqual(['connected', 'connected', 'disconnected']);
    expect(testHub.hub.connections.toDriver(id, { t: 'ack', seq: 0 })).toBe(false);
    unsubscribe();
  });

  it('delivers a typed message to every socket of a rider, and to nobody else', async () => {
    const a1 = await connectSteadily(testHub.wsUrl('/ws/rider?id=seam-a'));
    const a2 = await connectSteadily(testHub.wsUrl('/ws/rider?id=seam-a'));
    const b = await connectSteadily(testHub.wsUrl('/ws/rider?id=seam-b'));
    const push: NearbyResultMessage = { t: 'nearby.result', id: 'pushed', drivers: [], source: 'memory', ms: 0 };
    expect(testHub.hub.connections.toRider('seam-a', push)).toBe(true);
    await a1.waitFor((m) => m.t === 'nearby.result' && m.id === 'pushed');
    await a2.waitFor((m) => m.t === 'nearby.result' && m.id === 'pushed');
    // A query answered after the push proves b's socket had nothing queued before it.
    b.send({ t: 'nearby', id: 'after', lat: 40.7, lng: -74 });
    await b.waitFor((m) => m.t === 'nearby.result' && m.id === 'after');
    expect(b.received.some((entry) => entry.message.t === 'nearby.result' && entry.message.id === 'pushed')).toBe(false);
    expect(testHub.hub.connections.toRider('nobody', push)).toBe(false);
    for (const socket of [a1, a2, b]) socket.close();
  });
});
