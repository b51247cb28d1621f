import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EARTH_RADIUS_KM } from '../src/domain/geo.ts';
import type { ErrorMessage, NearbyResultMessage, NearbyUpdateMessage, ServerMessage } from '../src/protocol/messages.ts';
import { startPrivateRedis, type PrivateRedis } from '../tools/testkit/private-redis.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { type TestClient } from './support/ws-client.ts';
import { connectSteadily } from './support/steady-connect.ts';

// Live nearby over real sockets: a hub with PostgreSQL and Redis, drivers that
// report positions and wait for their acks, riders that subscribe.

const KM_PER_DEG = (Math.PI * EARTH_RADIUS_KM) / 180;
/** Each test works in its own patch of the map, so their drivers never meet. */
let nextArea = 0;

interface Area {
  /** A point `northM` metres north and `eastM` metres east of the area's centre. */
  at(northM: number, eastM: number): { lat: number; lng: number };
  centre: { lat: number; lng: number };
}

function newArea(): Area {
  const centre = { lat: 40.2 + nextArea * 0.2, lng: -74.5 };
  nextArea++;
  return {
    centre,
    at: (northM, eastM) => ({
      lat: centre.lat + northM / 1000 / KM_PER_DEG,
      lng: centre.lng + eastM / 1000 / (KM_PER_DEG * Math.cos((centre.lat * Math.PI) / 180)),
    }),
  };
}

/** A driver socket that reports positions one frame at a time and returns once each is committed. */
class Driver {
  private seq = 0;
  private constructor(
    readonly id: number,
    readonly client: TestClient,
    private readonly area: Area,
  ) {}

  static async connect(testHub: TestHub, area: Area, northM: number, eastM: number, rating = 4.5): Promise<Driver> {
    const [id] = await testHub.hub.store.insertDrivers([
      {
        name: `Driver ${nextArea}-${northM}-${eastM}`,
        phone: '+1-555-0100',
        vehicleType: 'economy',
        rating,
        totalRides: 0,
        status: 'online',
        lat: area.at(northM, eastM).lat,
        lng: area.at(northM, eastM).lng,
      },
    ]);
    const client = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`));
    await client.waitFor((m) => m.t === 'hello');
    const driver = new Driver(id!, client, area);
    await driver.moveTo(northM, eastM);
    return driver;
  }

  async moveTo(northM: number, eastM: number): Promise<void> {
    const seq = ++this.seq;
    this.client.send({ t: 'loc', seq, ...this.area.at(northM, eastM) });
    await this.client.waitFor((m) => m.t === 'ack' && m.seq >= seq);
  }

  async goOffline(): Promise<void> {
    const mark = this.client.received.length;
    this.client.send({ t: 'status', status: 'offline' });
    await this.client.waitFor((m) => m.t === 'ack', 10_000, mark);
  }

  close(): void {
    this.client.close();
  }
}

/** A rider socket with helpers for its subscriptions' updates. */
class Rider {
  private barriers = 0;
  private constructor(readonly client: TestClient) {}

  static async connect(testHub: TestHub): Promise<Rider> {
    return new Rider(await connectSteadily(testHub.wsUrl('/ws/rider')));
  }

  get mark(): number {
    return this.client.received.length;
  }

  subscribe(id: string, criteria: object): void {
    this.client.send({ t: 'subscribe', id, ...criteria });
  }

  /** The next update for `id` after `from` whose driver ids are `ids`. */
  async updateWith(id: string, ids: number[], from: number): Promise<NearbyUpdateMessage> {
    return this.client.waitFor<NearbyUpdateMessage>(
      (m) => m.t === 'nearby.update' && m.id === id && JSON.stringify(m.drivers.map((d) => d.id)) === JSON.stringify(ids),
      10_000,
      from,
    );
  }

  updatesFor(id: string, from = 0): NearbyUpdateMessage[] {
    return this.client.received
      .slice(from)
      .map((entry) => entry.message)
      .filter((m): m is NearbyUpdateMessage => m.t === 'nearby.update' && m.id === id);
  }

  async error(id: string, from: number): Promise<ErrorMessage> {
    return this.client.waitFor<ErrorMessage>((m: ServerMessage) => m.t === 'error' && m.id === id, 10_000, from);
  }

  /**
   * Everything the hub sent before this returns has arrived: a `nearby`
   * query is answered after the hub handled all earlier work on this socket.
   * Called after the rate spacing has passed, so a held-back update would be out too.
   */
  async barrier(): Promise<void> {
    const id = `barrier-${++this.barriers}`;
    const from = this.mark;
    this.client.send({ t: 'nearby', id, lat: 0, lng: 0, radiusKm: 0.1, limit: 1 });
    await this.client.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === id, 10_000, from);
  }

  close(): void {
    this.client.close();
  }
}

/** One update per 500 ms at the default SUBSCRIPTION_MAX_HZ: a change held back is sent within this. */
const RATE_SPACING_MS = 550;
/** Waits out the rate spacing; the behaviour under test is a duration (an update held back is sent by then). */
const afterRateSpacing = () => new Promise((resolve) => setTimeout(resolve, RATE_SPACING_MS));

describe('live nearby subscriptions', () => {
  let testHub: TestHub;
  const drivers: Driver[] = [];
  const riders: Rider[] = [];

  beforeAll(async () => {
    testHub = await startTestHub('subscriptions');
  });
  afterAll(async () => {
    for (const socket of [...drivers, ...riders]) socket.close();
    await testHub.close();
  });

  async function driverAt(area: Area, northM: number, eastM: number): Promise<Driver> {
    const driver = await Driver.connect(testHub, area, northM, eastM);
    drivers.push(driver);
    return driver;
  }

  async function rider(): Promise<Rider> {
    const connected = await Rider.connect(testHub);
    riders.push(connected);
    return connected;
  }

  it('answers at once, then pushes when a driver enters, overtakes another, moves past the threshold and leaves', async () => {
    const area = newArea();
    const a = await driverAt(area, 100, 0);
    const b = await driverAt(area, 300, 0);
    const c = await driverAt(area, 3000, 0); // outside the 1 km radius
    const watcher = await rider();
    let mark = watcher.mark;
    watcher.subscribe('s', { ...area.centre, radiusKm: 1, limit: 5 });
    const first = await watcher.updateWith('s', [a.id, b.id], mark);
    expect(first.source).toBe('redis');
    expect(first.drivers[0]).toMatchObject({ id: a.id, vehicleType: 'economy', rating: 4.5 });
    expect(first.drivers[0]!.distanceKm).toBeCloseTo(0.1, 3);

    mark = watcher.mark;
    await c.moveTo(500, 0);
    await watcher.updateWith('s', [a.id, b.id, c.id], mark);

    mark = watcher.mark;
    await c.moveTo(200, 0);
    await watcher.updateWith('s', [a.id, c.id, b.id], mark);

    mark = watcher.mark;
    await c.moveTo(200, 40);
    const moved = await watcher.updateWith('s', [a.id, c.id, b.id], mark);
    expect(moved.drivers[1]!.lng).toBeCloseTo(area.at(200, 40).lng, 9);

    mark = watcher.mark;
    await a.goOffline();
    await watcher.updateWith('s', [c.id, b.id], mark);

    mark = watcher.mark;
    await b.moveTo(1500, 0);
    await watcher.updateWith('s', [c.id], mark);
  });

  it('pushes nothing when an unrelated driver moves, or a listed one creeps under the threshold', async () => {
    const area = newArea();
    const near = await driverAt(area, 100, 0);
    const far = await driverAt(area, 5000, 0);
    const watcher = await rider();
    let mark = watcher.mark;
    watcher.subscribe('quiet', { ...area.centre, radiusKm: 1 });
    watcher.subscribe('sentinel', { ...area.at(5000, 0), radiusKm: 1 });
    await watcher.updateWith('quiet', [near.id], mark);
    await watcher.updateWith('sentinel', [far.id], mark);
    await afterRateSpacing();

    mark = watcher.mark;
    await far.moveTo(5000, 60); // the sentinel sees it move 60 m; 'quiet' must not hear of it
    await near.moveTo(100, 10); // 10 m: under the 25 m threshold
    await watcher.updateWith('sentinel', [far.id], mark);
    await afterRateSpacing();
    await watcher.barrier();
    expect(watcher.updatesFor('quiet', mark)).toEqual([]);
  });

  it('stops after unsubscribe, and ends every subscription of a closed socket', async () => {
    const area = newArea();
    const driver = await driverAt(area, 3000, 0);
    const watcher = await rider();
    let mark = watcher.mark;
    watcher.subscribe('gone', { ...area.centre, radiusKm: 1 });
    watcher.subscribe('kept', { ...area.centre, radiusKm: 1 });
    await watcher.updateWith('gone', [], mark);
    await watcher.updateWith('kept', [], mark);

    mark = watcher.mark;
    watcher.client.send({ t: 'unsubscribe', id: 'gone' });
    await watcher.client.waitFor((m) => m.t === 'unsubscribed' && m.id === 'gone', 10_000, mark);
    await driver.moveTo(200, 0);
    await watcher.updateWith('kept', [driver.id], mark);
    await afterRateSpacing();
    await watcher.barrier();
    expect(watcher.updatesFor('gone', mark)).toEqual([]);

    const before = testHub.hub.subscriptions.size;
    watcher.close();
    await expect.poll(() => testHub.hub.subscriptions.size, { timeout: 10_000 }).toBe(before - 1);
  });

  it('re-centres on subscribe.move with an update around the new centre', async () => {
    const area = newArea();
    const here = await driverAt(area, 100, 0);
    const there = await driverAt(area, 6000, 0);
    const watcher = await rider();
    let mark = watcher.mark;
    watcher.subscribe('m', { ...area.centre, radiusKm: 1 });
    await watcher.updateWith('m', [here.id], mark);
    mark = watcher.mark;
    watcher.client.send({ t: 'subscribe.move', id: 'm', ...area.at(6000, 0) });
    await watcher.updateWith('m', [there.id], mark);
    // The old centre's drivers no longer concern it.
    await afterRateSpacing();
    mark = watcher.mark;
    await here.moveTo(50, 0);
    await there.moveTo(6050, 0);
    const update = await watcher.updateWith('m', [there.id], mark);
    expect(update.drivers[0]!.lat).toBeCloseTo(area.at(6050, 0).lat, 9);
  });

  it('refuses too many subscriptions, reused and unknown ids, and bad criteria with typed errors', async () => {
    const area = newArea();
    const watcher = await rider();
    const mark = watcher.mark;
    for (let i = 1; i <= 4; i++) watcher.subscribe(`q${i}`, area.centre);
    watcher.subscribe('q5', area.centre);
    expect((await watcher.error('q5', mark)).code).toBe('subscription_limit');
    watcher.client.send({ t: 'unsubscribe', id: 'q4' });
    watcher.subscribe('q1', area.centre);
    expect((await watcher.error('q1', mark)).code).toBe('subscription_exists');
    watcher.client.send({ t: 'subscribe.move', id: 'nope', ...area.centre });
    expect((await watcher.error('nope', mark)).code).toBe('not_found');
    watcher.client.send({ t: 'unsubscribe', id: 'nope2' });
    expect((await watcher.error('nope2', mark)).code).toBe('not_found');
    watcher.subscribe('r0', { ...area.centre, radiusKm: 0 });
    expect((await watcher.error('r0', mark)).code).toBe('out_of_range');
    watcher.subscribe('l0', { ...area.centre, limit: 101 });
    expect((await watcher.error('l0', mark)).code).toBe('out_of_range');
    watcher.client.send({ t: 'subscribe', id: 'nolat', lng: 0 });
    expect((await watcher.error('nolat', mark)).code).toBe('invalid_field');
    watcher.subscribe('extra', { ...area.centre, colour: 'red' });
    expect((await watcher.error('extra', mark)).code).toBe('invalid_field');
    const beforeMove = watcher.mark;
    watcher.client.send({ t: 'subscribe.move', id: 'q1', lat: 91, lng: 0 });
    expect((await watcher.error('q1', beforeMove)).code).toBe('out_of_range');
    // A freed slot takes a new subscription; the socket stayed open throughout.
    const later = watcher.mark;
    watcher.subscribe('q6', area.centre);
    await watcher.updateWith('q6', [], later);
  });

  it('drops a driver the moment a ride makes it busy, and keeps it out while it drives', async () => {
    const area = newArea();
    const taken = await driverAt(area, 100, 0);
    const other = await driverAt(area, 300, 0);
    const watcher = await rider();
    let mark = watcher.mark;
    watcher.subscribe('busy', { ...area.centre, radiusKm: 1 });
    await watcher.updateWith('busy', [taken.id, other.id], mark);

    // Another rider asks for a ride at the nearest driver's corner; that driver accepts it.
    const requester = await rider();
    mark = watcher.mark;
    requester.client.send({ t: 'ride.request', id: 'r1', pickup: area.at(100, 0) });
    const offer = await taken.client.waitFor<Extract<ServerMessage, { t: 'offer' }>>((m) => m.t === 'offer');
    taken.client.send({ t: 'offer.accept', rideId: offer.rideId });
    await requester.client.waitFor((m) => m.t === 'ride.assigned');
    await watcher.updateWith('busy', [other.id], mark);

    // Driving to the pickup, nearer the rider than anyone: still not listed.
    await afterRateSpacing();
    mark = watcher.mark;
    await taken.moveTo(20, 0);
    await other.moveTo(300, 40);
    await watcher.updateWith('busy', [other.id], mark);
    expect(watcher.updatesFor('busy', mark).flatMap((update) => update.drivers.map((d) => d.id))).not.toContain(taken.id);
  });

  it('answers in msgpack a rider that speaks msgpack', async () => {
    const area = newArea();
    const watcher = await rider();
    const mark = watcher.mark;
    watcher.client.send({ t: 'subscribe', id: 'bin', ...area.centre }, 'msgpack');
    await watcher.updateWith('bin', [], mark);
    expect(watcher.client.received.slice(mark).find((entry) => (entry.message as { id?: string }).id === 'bin')!.binary).toBe(true);
  });
});

describe('live nearby while Redis is down, and for drivers that fall silent', () => {
  let redis: PrivateRedis;
  let testHub: TestHub;

  beforeAll(async () => {
    redis = await startPrivateRedis();
    testHub = await startTestHub('subscriptions-outage', { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200', STALE_AFTER_MS: '3000' });
  });
  afterAll(async () => {
    await testHub.close();
    await redis.stop();
  });

  it('drops a listed driver that stopped reporting', async () => {
    const area = newArea();
    const silent = await Driver.connect(testHub, area, 100, 0);
    const watcher = await Rider.connect(testHub);
    const mark = watcher.mark;
    watcher.subscribe('stale', { ...area.centre, radiusKm: 1 });
    await watcher.updateWith('stale', [silent.id], mark);
    // STALE_AFTER_MS is 3 s: the driver leaves within a tick (a tenth of it) after that.
    const left = await watcher.updateWith('stale', [], mark);
    expect(left.drivers).toEqual([]);
    silent.close();
    watcher.close();
  });

  it('keeps pushing from committed positions and searches on the SQL fallback', async () => {
    const area = newArea();
    // limit 1 holds 6: taking 6 offline drains the window and forces a search.
    const fleet: Driver[] = [];
    for (let i = 1; i <= 8; i++) fleet.push(await Driver.connect(testHub, area, i * 100, 0));
    const newcomer = await Driver.connect(testHub, area, 5000, 0);
    const watcher = await Rider.connect(testHub);
    let mark = watcher.mark;
    watcher.subscribe('down', { ...area.centre, radiusKm: 2, limit: 1 });
    expect((await watcher.updateWith('down', [fleet[0]!.id], mark)).source).toBe('redis');

    await redis.stop();
    mark = watcher.mark;
    await newcomer.moveTo(50, 0);
    await watcher.updateWith('down', [newcomer.id], mark);
    await expect.poll(() => testHub.hub.health.state, { timeout: 10_000 }).not.toBe('up');

    mark = watcher.mark;
    await newcomer.goOffline();
    for (const driver of fleet.slice(0, 6)) await driver.goOffline();
    const searched = await watcher.updateWith('down', [fleet[6]!.id], mark);
    expect(searched.source).toBe('sql');
    for (const driver of [...fleet, newcomer]) driver.close();
    watcher.close();
  });
});
