import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NearbyResultMessage, NearbyUpdateMessage, ServerMessage } from '../src/protocol/messages.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { startPrivateRedisCluster, type PrivateRedisCluster } from '../tools/testkit/redis-cluster.ts';
import { bruteForceNearbyIn } from './support/brute-force.ts';
import { checkDelivery } from './support/delivery-check.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { connectAll, describeLagging, framePosition, RecordingDriver, waitUntil } from './support/recording-driver.ts';
import { isMessage } from './support/ride-parties.ts';
import { createSeededDatabase } from './support/seeded-database.ts';
import { connectSteadily } from './support/steady-connect.ts';
import type { TestClient } from './support/ws-client.ts';

/**
 * Three hub processes on a 3-master Redis Cluster and one PostgreSQL,
 * behaving as one hub: drivers spread over the processes, riders on any of
 * them. The cross-process bus (sharded pub/sub) carries pushes, takeovers
 * and live nearby; the database keeps every acked frame when a process dies.
 */
const STALE_AFTER_MS = 600_000;
const TICK_MS = 100;
/** Each wait gives up well before vitest's own timeout, with a message saying what it waited for. */
const WAIT_MS = 15_000;

let cluster: PrivateRedisCluster;
let db: PrivateDatabase;
let ids: number[];
let hubs: HubProcess[];
const riders: TestClient[] = [];

beforeAll(async () => {
  cluster = await startPrivateRedisCluster(3);
  ({ db, ids } = await createSeededDatabase(200));
  const env = {
    DATABASE_URL: db.url,
    REDIS_CLUSTER_NODES: cluster.nodes.join(','),
    REDIS_KEY_PREFIX: 'scale-out:',
    STALE_AFTER_MS: String(STALE_AFTER_MS),
    DRIVER_FRAMES_PER_S: '1000',
    DRIVER_FRAME_BURST: '10000',
    RIDER_QUERIES_PER_S: '1000',
    RIDER_QUERY_BURST: '10000',
    SUBSCRIPTION_MOVE_METERS: '1',
    SUBSCRIPTION_MAX_HZ: '20',
    DISPATCH_OFFER_TIMEOUT_MS: '2000',
    BUS_PRESENCE_TTL_MS: '3000',
  };
  hubs = await Promise.all(['a', 'b', 'c'].map((name) => startHubProcess(env, `hub-${name}`)));
});
afterAll(async () => {
  for (const rider of riders) rider.close();
  await Promise.all((hubs ?? []).map(killHubProcess));
  await Promise.allSettled([db?.drop(), cluster?.stop()]);
});

const base = (hub: HubProcess) => `ws://127.0.0.1:${hub.port}`;

async function riderOn(hub: HubProcess, riderId: string): Promise<TestClient> {
  const rider = await connectSteadily(`${base(hub)}/ws/rider?id=${riderId}`);
  riders.push(rider);
  return rider;
}

/** Every driver sends its next frame each TICK_MS. */
function stream(drivers: RecordingDriver[]): { stop(): void } {
  const timer = setInterval(() => {
    for (const driver of drivers) driver.sendNext();
  }, TICK_MS);
  return { stop: () => clearInterval(timer) };
}

function allAcked(drivers: RecordingDriver[], what: string): Promise<void> {
  return waitUntil(
    () => drivers.every((driver) => driver.lastAck === driver.lastSent),
    WAIT_MS,
    what,
    () => describeLagging(drivers),
  );
}

/** Drivers 0..59 of the fleet, a third on each process, streaming for the whole file. */
const fleet: RecordingDriver[] = [];
/** The ride assigned across processes, carried on after a process dies. */
let assignedRide: { rideId: string; driverId: number; rider: TestClient } | undefined;
const hubIndexOf = new Map<RecordingDriver, number>();
let streaming: { stop(): void } | undefined;

it('drivers spread over three processes: ranked nearby from any process equals brute force over PostgreSQL', async () => {
  fleet.push(...ids.slice(0, 60).map((id) => new RecordingDriver(id)));
  await Promise.all(
    hubs.map((hub, h) => {
      const mine = fleet.filter((_driver, i) => i % 3 === h);
      for (const driver of mine) hubIndexOf.set(driver, h);
      return connectAll(mine, base(hub));
    }),
  );
  streaming = stream(fleet);
  await waitUntil(
    () => fleet.every((driver) => driver.lastAck >= 3),
    WAIT_MS,
    'three acked frames per driver',
    () => describeLagging(fleet),
  );
  streaming.stop();
  await allAcked(fleet, 'the fleet to be acked before comparing');

  const points = [
    { lat: 40.73, lng: -73.97 },
    { lat: 40.758, lng: -73.985 },
    { lat: 40.75, lng: -73.96 },
  ];
  for (const [h, hub] of hubs.entries()) {
    const rider = await riderOn(hub, `nearby-${h}`);
    for (const [p, point] of points.entries()) {
      const query = { ...point, radiusKm: 3, limit: 10 };
      rider.send({ t: 'nearby', id: `q${p}`, ...query });
      const answer = await rider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === `q${p}`, WAIT_MS);
      const expected = await bruteForceNearbyIn(db.url, query);
      expect(
        answer.drivers.map((d) => d.id),
        `hub ${h} at ${JSON.stringify(point)}`,
      ).toEqual(expected.map((d) => d.id));
      expect(answer.drivers.length).toBeGreaterThan(0);
    }
  }
  streaming = stream(fleet);
});

it('a live nearby subscription on process B sees a driver streaming to process A', async () => {
  const driver = fleet.find((candidate) => hubIndexOf.get(candidate) === 0)!;
  const at = framePosition(driver.id, driver.lastSent);
  const rider = await riderOn(hubs[1]!, 'live-nearby');
  rider.send({ t: 'subscribe', id: 'live', lat: at.lat, lng: at.lng, radiusKm: 0.5, limit: 5 });
  const positionsSeen = () =>
    new Set(
      rider.received
        .map((entry) => entry.message)
        .filter((m): m is NearbyUpdateMessage => m.t === 'nearby.update')
        .flatMap((m) => m.drivers.filter((d) => d.id === driver.id).map((d) => `${d.lat},${d.lng}`)),
    );
  // The first update comes from a search; every later position of the driver can only come through its cell's feed.
  await waitUntil(() => positionsSeen().size >= 3, WAIT_MS, `three positions of driver ${driver.id} on process B`);
  rider.send({ t: 'unsubscribe', id: 'live' });
});

/** A driver at a place of its own, online there, on the given process. */
async function placedDriver(hub: HubProcess, id: number, place: { lat: number; lng: number }): Promise<TestClient> {
  const client = await connectSteadily(`${base(hub)}/ws/driver?id=${id}`);
  const hello = await client.waitFor((m) => m.t === 'hello', WAIT_MS);
  const seq = (hello.t === 'hello' ? hello.lastSeq : 0) + 1;
  client.send({ t: 'status', status: 'online' });
  client.send({ t: 'loc', seq, ...place });
  await client.waitFor((m) => m.t === 'ack' && m.seq >= seq, WAIT_MS);
  return client;
}

it('a ride requested on B is offered to drivers on A and C, both accept, exactly one is assigned', async () => {
  // Away from the fleet, so these two are the only candidates.
  const pickup = { lat: 40.9, lng: -73.7 };
  const [onA, onC] = await Promise.all([
    placedDriver(hubs[0]!, ids[100]!, { lat: pickup.lat + 0.001, lng: pickup.lng }),
    placedDriver(hubs[2]!, ids[101]!, { lat: pickup.lat - 0.001, lng: pickup.lng }),
  ]);
  const rider = await riderOn(hubs[1]!, 'ride-rider');
  rider.send({ t: 'ride.request', id: 'ride-1', pickup });
  const requested = await rider.waitFor((m) => m.t === 'ride.requested' && m.id === 'ride-1', WAIT_MS);
  const rideId = requested.t === 'ride.requested' ? requested.rideId : '';
  await Promise.all([onA.waitFor(isMessage('offer', rideId), WAIT_MS), onC.waitFor(isMessage('offer', rideId), WAIT_MS)]);
  onA.send({ t: 'offer.accept', rideId });
  onC.send({ t: 'offer.accept', rideId });
  const assigned = await rider.waitFor(isMessage('ride.assigned', rideId), WAIT_MS);
  const winner = 'driver' in assigned ? assigned.driver?.id : undefined;
  const [winnerSocket, loserSocket] = winner === ids[100] ? [onA, onC] : [onC, onA];
  assignedRide = { rideId, driverId: winner!, rider };
  await winnerSocket.waitFor(isMessage('ride.assigned', rideId), WAIT_MS);
  await loserSocket.waitFor(isMessage('offer.cancelled', rideId), WAIT_MS);
  const rides = await db.query<{ status: string; driver_id: number }>('SELECT status, driver_id FROM rides WHERE id = $1', [rideId]);
  expect(rides.rows).toEqual([{ status: 'assigned', driver_id: winner }]);
  const accepted = await db.query<{ n: string }>("SELECT count(*) AS n FROM offers WHERE ride_id = $1 AND answer = 'accepted'", [rideId]);
  expect(Number(accepted.rows[0]!.n)).toBe(1);
  expect(winnerSocket.received.filter((entry) => isMessage('ride.assigned', rideId)(entry.message))).toHaveLength(1);
  expect(loserSocket.received.some((entry) => isMessage('ride.assigned', rideId)(entry.message))).toBe(false);

  // The winner's positions, committed on its own process, reach the rider on B.
  winnerSocket.send({ t: 'loc', seq: 1000, lat: pickup.lat + 0.0005, lng: pickup.lng });
  await rider.waitFor((m: ServerMessage) => m.t === 'ride.driver' && m.rideId === rideId, WAIT_MS);
  onA.close();
  onC.close();
});

it("a driver's second socket on another process takes over: the first closes with 4001", async () => {
  const id = ids[110]!;
  const first = await connectSteadily(`${base(hubs[0]!)}/ws/driver?id=${id}`);
  await first.waitFor((m) => m.t === 'hello', WAIT_MS);
  const second = await connectSteadily(`${base(hubs[2]!)}/ws/driver?id=${id}`);
  await second.waitFor((m) => m.t === 'hello', WAIT_MS);
  expect((await first.waitForClose(WAIT_MS)).code).toBe(4001);
  second.send({ t: 'loc', seq: 1, lat: 40.75, lng: -73.98 });
  await second.waitFor((m) => m.t === 'ack' && m.seq >= 1, WAIT_MS);
  expect(second.closeEvent).toBeUndefined();
  second.close();
});

it('a process SIGKILLed mid-stream loses nothing acked; its drivers resume on the others, its pending offers expire through a survivor, a ride in progress goes on', async () => {
  // A ride requested on C, offered to a driver on A, left unanswered: C dies holding its offer deadline.
  const offered = await placedDriver(hubs[0]!, ids[120]!, { lat: 40.95, lng: -73.6 });
  const rider = await riderOn(hubs[2]!, 'orphaned-rider');
  rider.send({ t: 'ride.request', id: 'ride-2', pickup: { lat: 40.95, lng: -73.6 } });
  const requested = await rider.waitFor((m) => m.t === 'ride.requested' && m.id === 'ride-2', WAIT_MS);
  const rideId = requested.t === 'ride.requested' ? requested.rideId : '';
  await offered.waitFor(isMessage('offer', rideId), WAIT_MS);

  const victim = hubs[2]!;
  const orphans = fleet.filter((driver) => hubIndexOf.get(driver) === 2);
  await waitUntil(() => orphans.every((driver) => driver.lastAck > 5), WAIT_MS, 'the doomed process to be acking its drivers');
  await victim.kill();
  const ackedAtKill = new Map(orphans.map((driver) => [driver, driver.lastAck]));
  await waitUntil(() => orphans.every((driver) => !driver.connected), WAIT_MS, "the dead process's sockets to drop");
  const helloBelowAck: string[] = [];
  await Promise.all(
    orphans.map(async (driver, i) => {
      const survivor = i % 2;
      hubIndexOf.set(driver, survivor);
      const hello = await driver.connect(base(hubs[survivor]!));
      if (hello < ackedAtKill.get(driver)!) helloBelowAck.push(`driver ${driver.id}: hello ${hello} below ack ${ackedAtKill.get(driver)}`);
    }),
  );
  const sentNow = fleet.map((driver) => driver.lastSent);
  await waitUntil(
    () => fleet.every((driver, i) => driver.lastAck >= sentNow[i]! + 3),
    WAIT_MS,
    'three more acks per driver on the surviving processes',
    () => describeLagging(fleet),
  );
  streaming?.stop();
  await allAcked(fleet, 'every frame to be acked');
  expect(helloBelowAck).toEqual([]);
  const report = await checkDelivery(db.url, fleet);
  expect(report.violations).toEqual([]);
  expect(report.rows).toBe(fleet.reduce((sum, driver) => sum + driver.lastSent, 0));

  // The dead process's offer deadline is run by a survivor's sweep: the offer expires, cleanly, once.
  await offered.waitFor((m) => m.t === 'offer.cancelled' && m.rideId === rideId && m.reason === 'expired', WAIT_MS);
  await expect
    .poll(
      async () =>
        (await db.query<{ answer: string | null }>('SELECT answer FROM offers WHERE ride_id = $1 AND driver_id = $2', [rideId, ids[120]])).rows.map(
          (row) => row.answer,
        ),
      { timeout: WAIT_MS },
    )
    .toEqual(['expired']);
  offered.close();
  for (const driver of fleet) driver.close();

  // The ride assigned earlier goes on: its driver, on a surviving process, gets its state again and its positions reach the rider.
  const { rideId: ongoing, driverId, rider: ongoingRider } = assignedRide!;
  const driver = await connectSteadily(`${base(hubs[0]!)}/ws/driver?id=${driverId}`);
  const state = await driver.waitFor((m) => m.t === 'ride.state' && m.rideId === ongoing, WAIT_MS);
  expect(state).toMatchObject({ status: 'assigned' });
  const pushesBefore = ongoingRider.received.length;
  driver.send({ t: 'loc', seq: 2000, lat: 40.9003, lng: -73.7 });
  await ongoingRider.waitFor((m) => m.t === 'ride.driver' && m.rideId === ongoing && m.lat === 40.9003, WAIT_MS, pushesBefore);
  driver.close();
}, 120_000);
