import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../src/logger.ts';
import type { NearbyAnswer, NearbyCriteria } from '../src/nearby/nearby-service.ts';
import { rankWithin } from '../src/nearby/rank.ts';
import { HubError } from '../src/protocol/errors.ts';
import { EARTH_RADIUS_KM, haversineKm } from '../src/domain/geo.ts';
import type { ErrorMessage } from '../src/protocol/messages.ts';
import { subscribeSchema, type NearbyUpdateMessage, type SubscribeInput } from '../src/protocol/subscription-messages.ts';
import type { DriverProfile, DriverStatus } from '../src/domain/driver.ts';
import { CellIndex } from '../src/subscriptions/cell-index.ts';
import { SubscriptionRegistry } from '../src/subscriptions/subscription-registry.ts';
import type { DriverChange, NearbyFinder, ProfileLookup, Subscriber, SubscriptionObserver } from '../src/subscriptions/types.ts';

// Unit tests of the registry against fakes of its own interfaces: a fleet
// that answers searches by brute force, and riders that record what they get.

const CENTRE = { lat: 40.7589, lng: -73.9851 };
const KM_PER_DEG = (Math.PI * EARTH_RADIUS_KM) / 180;
const STALE_AFTER_MS = 30_000;

/** A point `northM` metres north and `eastM` metres east of the centre. */
function at(northM: number, eastM: number): { lat: number; lng: number } {
  return {
    lat: CENTRE.lat + northM / 1000 / KM_PER_DEG,
    lng: CENTRE.lng + eastM / 1000 / (KM_PER_DEG * Math.cos((CENTRE.lat * Math.PI) / 180)),
  };
}

interface FleetDriver {
  profile: DriverProfile;
  lat: number;
  lng: number;
  seenAtMs: number;
}

class FakeFleet implements NearbyFinder, ProfileLookup {
  readonly drivers = new Map<number, FleetDriver>();
  searches = 0;
  failing = false;
  /** Answers wait for this while it is set, to test changes during a search. */
  gate: Promise<void> | undefined;
  /** While set, searches answer from this earlier copy of the fleet: an index that has not caught up. */
  laggingView: Map<number, FleetDriver> | undefined;

  snapshot(): Map<number, FleetDriver> {
    return new Map([...this.drivers].map(([id, driver]) => [id, { ...driver, profile: { ...driver.profile } }]));
  }

  add(id: number, northM: number, eastM: number, looks: Partial<DriverProfile> = {}): void {
    this.drivers.set(id, {
      profile: { id, name: `Driver ${id}`, vehicleType: 'economy', rating: 4.5, status: 'online', ...looks },
      ...at(northM, eastM),
      seenAtMs: Date.now(),
    });
  }

  /** Moves (or re-statuses) a driver in the fleet and returns the committed change the registry would be told of. */
  change(id: number, northM: number | null, eastM: number | null, status: DriverStatus = 'online'): DriverChange {
    const driver = this.drivers.get(id)!;
    driver.profile = { ...driver.profile, status };
    if (northM !== null && eastM !== null) Object.assign(driver, at(northM, eastM));
    driver.seenAtMs = Date.now();
    return { id, status, lat: driver.lat, lng: driver.lng, seenAtMs: driver.seenAtMs };
  }

  /** What `nearby` would answer now. */
  expected(criteria: NearbyCriteria): number[] {
    return this.answer(criteria).map((driver) => driver.id);
  }

  get(id: number): DriverProfile | undefined {
    return this.drivers.get(id)?.profile;
  }

  async find(criteria: NearbyCriteria): Promise<NearbyAnswer> {
    this.searches++;
    if (this.gate) await this.gate;
    if (this.failing) throw new Error('both indexes are down');
    return { drivers: this.answer(criteria, this.laggingView), source: 'redis', ms: 0 };
  }

  private answer(criteria: NearbyCriteria, view = this.drivers) {
    const freshSince = Date.now() - STALE_AFTER_MS;
    const candidates = [...view.values()]
      .filter((d) => d.profile.status === 'online' && d.seenAtMs >= freshSince)
      .filter((d) => !criteria.vehicleType || d.profile.vehicleType === criteria.vehicleType)
      .filter((d) => criteria.minRating === undefined || d.profile.rating >= criteria.minRating)
      .map((d) => ({ ...d.profile, lat: d.lat, lng: d.lng }));
    return rankWithin(criteria, criteria.radiusKm, candidates).slice(0, criteria.limit);
  }
}

class FakeRider implements Subscriber {
  readonly updates: NearbyUpdateMessage[] = [];
  /** Date.now() of each update, in order. */
  readonly times: number[] = [];
  readonly errors: ErrorMessage[] = [];
  writable = true;

  constructor(readonly quotaKey = `rider-${Math.random()}`) {}

  push(update: NearbyUpdateMessage): boolean {
    if (!this.writable) return false;
    this.updates.push(update);
    this.times.push(Date.now());
    return true;
  }

  fail(error: ErrorMessage): void {
    this.errors.push(error);
  }

  updatesFor(id: string | number): NearbyUpdateMessage[] {
    return this.updates.filter((update) => update.id === id);
  }

  lastIds(id: string | number): number[] {
    return this.updatesFor(id)
      .at(-1)!
      .drivers.map((driver) => driver.id);
  }
}

class CountingObserver implements SubscriptionObserver {
  visits = 0;
  delays: number[] = [];
  waited = 0;
  searchSources: string[] = [];
  openCount = 0;
  pushed(delayMs: number, waited: boolean) {
    this.delays.push(delayMs);
    if (waited) this.waited++;
  }
  searched(source: string) {
    this.searchSources.push(source);
  }
  visited(count: number) {
    this.visits += count;
  }
  open(count: number) {
    this.openCount = count;
  }
}

let fleet: FakeFleet;
let observer: CountingObserver;
let registry: SubscriptionRegistry;

function makeRegistry(overrides: { perRider?: number; maxHz?: number } = {}): SubscriptionRegistry {
  return new SubscriptionRegistry({
    nearby: fleet,
    profiles: fleet,
    logger: createLogger('silent'),
    observer,
    moveThresholdMeters: 25,
    maxHz: overrides.maxHz ?? 2,
    perRider: overrides.perRider ?? 4,
    staleAfterMs: STALE_AFTER_MS,
  });
}

function subscribe(rider: FakeRider, input: Omit<SubscribeInput, 't' | 'lat' | 'lng'> & Partial<SubscribeInput>) {
  const request = subscribeSchema.parse({ t: 'subscribe', ...CENTRE, ...input });
  registry.subscribe(rider, request);
  return request;
}

/** Tells the registry of committed changes, as ingest does after each batch. */
function commit(changes: DriverChange[]): void {
  registry.apply({
    ids: changes.map((change) => change.id),
    statuses: changes.map((change) => change.status),
    lats: changes.map((change) => change.lat),
    lngs: changes.map((change) => change.lng),
    seenAtMs: changes.map((change) => change.seenAtMs),
  });
}

/** Lets pending searches answer and due coalescing timers fire. */
async function settle(ms = 0): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Past the 2 Hz spacing, so the next relevant change is sent at once. */
const AFTER_INTERVAL_MS = 501;

beforeEach(() => {
  vi.useFakeTimers();
  fleet = new FakeFleet();
  observer = new CountingObserver();
  registry = makeRegistry();
});
afterEach(() => {
  registry.stop();
  vi.useRealTimers();
});

describe('subscription registry (fakes of the finder, profiles and riders)', () => {
  it('answers at once with the nearby ranking, then stays silent while nothing relevant changes', async () => {
    for (let i = 1; i <= 20; i++) fleet.add(i, i * 40, -i * 15);
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 's1', radiusKm: 2, limit: 5 });
    await settle();
    expect(rider.updates).toHaveLength(1);
    expect(rider.lastIds('s1')).toEqual(fleet.expected(request));
    expect(rider.updates[0]!.source).toBe('redis');

    // A driver 40 km away moves: no subscription is even visited.
    fleet.add(99, 40_000, 0);
    const visitsBefore = observer.visits;
    commit([fleet.change(99, 40_010, 0)]);
    expect(observer.visits).toBe(visitsBefore);
    // A listed driver creeps 10 m (under the 25 m threshold) without passing anyone.
    commit([fleet.change(1, 40, -5)]);
    // A driver inside the radius but far behind the fifth moves.
    commit([fleet.change(20, 800, -300)]);
    await settle(AFTER_INTERVAL_MS * 2);
    expect(rider.updates).toHaveLength(1);
  });

  it('pushes when a driver enters, overtakes another, moves past the threshold, goes offline, or goes busy', async () => {
    for (let i = 1; i <= 8; i++) fleet.add(i, i * 100, 0);
    fleet.add(50, 3000, 0); // outside the 1 km radius
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 'watch', radiusKm: 1, limit: 3 });
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('watch')).toEqual([1, 2, 3]);

    const steps: Array<[string, () => DriverChange]> = [
      ['enters', () => fleet.change(50, 50, 0)],
      ['overtakes', () => fleet.change(3, 0, 10)],
      ['moves 40 m', () => fleet.change(50, 50, 40)],
      ['goes offline', () => fleet.change(1, null, null, 'offline')],
      ['goes busy', () => fleet.change(3, null, null, 'busy')],
    ];
    for (const [what, change] of steps) {
      const count = rider.updates.length;
      commit([change()]);
      await settle(AFTER_INTERVAL_MS);
      expect(rider.updates.length, what).toBe(count + 1);
      expect(rider.lastIds('watch'), what).toEqual(fleet.expected(request));
    }
    expect(rider.lastIds('watch')).toEqual([50, 2, 4]);
    // The moved driver is shown where it is now.
    const moved = rider
      .updatesFor('watch')
      .at(-1)!
      .drivers.find((d) => d.id === 50)!;
    expect(moved.lat).toBeCloseTo(fleet.drivers.get(50)!.lat, 9);
    expect(moved.lng).toBeCloseTo(fleet.drivers.get(50)!.lng, 9);
  });

  it('drops a driver that dispatch marks busy at once, and takes it back with its next position once online again', async () => {
    for (let i = 1; i <= 3; i++) fleet.add(i, i * 100, 0);
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 'busy', radiusKm: 1 });
    await settle(AFTER_INTERVAL_MS);
    fleet.change(1, null, null, 'busy');
    registry.driverStatusChanged(1, 'busy');
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('busy')).toEqual([2, 3]);
    // Positions committed while busy keep it out.
    commit([fleet.change(1, 50, 0, 'busy')]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('busy')).toEqual([2, 3]);
    fleet.change(1, null, null, 'online');
    registry.driverStatusChanged(1, 'online');
    commit([fleet.change(1, 60, 0)]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('busy')).toEqual(fleet.expected(request));
    expect(rider.lastIds('busy')).toEqual([1, 2, 3]);
  });

  it('applies vehicle type and rating filters to drivers that move in', async () => {
    fleet.add(1, 500, 0, { vehicleType: 'van', rating: 4.9 });
    fleet.add(2, 3000, 0, { vehicleType: 'economy', rating: 5 });
    fleet.add(3, 3000, 0, { vehicleType: 'van', rating: 4.0 });
    fleet.add(4, 3000, 0, { vehicleType: 'van', rating: 4.8 });
    const rider = new FakeRider();
    subscribe(rider, { id: 'vans', radiusKm: 1, vehicleType: 'van', minRating: 4.5 });
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('vans')).toEqual([1]);
    commit([fleet.change(2, 100, 0), fleet.change(3, 100, 0)]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.updates).toHaveLength(1);
    commit([fleet.change(4, 100, 0)]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('vans')).toEqual([4, 1]);
  });

  it('coalesces to at most SUBSCRIPTION_MAX_HZ, sending the newest list', async () => {
    for (let i = 1; i <= 5; i++) fleet.add(i, i * 100, 0);
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 'c', radiusKm: 2, limit: 5 });
    await settle();
    const firstAt = Date.now();
    // Twenty relevant changes within 500 ms: each swaps the order of drivers 1 and 2.
    for (let step = 0; step < 20; step++) {
      commit([fleet.change(1, step % 2 === 0 ? 250 : 50, 0)]);
      await settle(25);
    }
    await settle(AFTER_INTERVAL_MS);
    // 20 changes over 500 ms + one interval: the first answer, then at most one update per 500 ms.
    expect(Date.now() - firstAt).toBeLessThan(1100);
    expect(rider.updates.length).toBeGreaterThanOrEqual(2);
    expect(rider.updates.length).toBeLessThanOrEqual(4);
    expect(rider.lastIds('c')).toEqual(fleet.expected(request));
    for (let i = 1; i < rider.times.length; i++) expect(rider.times[i]! - rider.times[i - 1]!).toBeGreaterThanOrEqual(500);
    // The reported delay is from the first unsent change to the send: it includes the wait.
    expect(Math.max(...observer.delays)).toBeGreaterThan(0);
    expect(Math.max(...observer.delays)).toBeLessThanOrEqual(500);
    // The first answer went at once; every later one waited for its slot.
    expect(observer.waited).toBe(rider.updates.length - 1);
  });

  it('never pushes a change that was undone before it could be sent', async () => {
    for (let i = 1; i <= 3; i++) fleet.add(i, i * 100, 0);
    const rider = new FakeRider();
    subscribe(rider, { id: 'u', radiusKm: 2 });
    await settle();
    commit([fleet.change(1, 100, 0)]); // trivial, unchanged
    commit([fleet.change(3, 50, 0)]); // 3 overtakes: due in 500 ms
    commit([fleet.change(3, 300, 0)]); // back where it was
    await settle(AFTER_INTERVAL_MS * 2);
    expect(rider.updates).toHaveLength(1);
  });

  it('searches again only when departures empty a window it cannot refill from its margin', async () => {
    // 30 drivers in a line: limit 5 holds 10 (5 beyond what the rider sees).
    for (let i = 1; i <= 30; i++) fleet.add(i, i * 20, 0);
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 'w', radiusKm: 5, limit: 5 });
    await settle(AFTER_INTERVAL_MS);
    expect(fleet.searches).toBe(1);
    for (let id = 1; id <= 5; id++) {
      commit([fleet.change(id, null, null, 'offline')]);
      await settle(AFTER_INTERVAL_MS);
      expect(rider.lastIds('w')).toEqual(fleet.expected(request));
    }
    expect(fleet.searches).toBe(1);
    commit([fleet.change(6, null, null, 'offline')]);
    await settle(AFTER_INTERVAL_MS);
    expect(fleet.searches).toBe(2);
    expect(rider.lastIds('w')).toEqual(fleet.expected(request));
  });

  it('searches again when a listed driver falls behind drivers the window does not hold', async () => {
    // limit 2 holds 7: drivers 1..7, with 8 and 9 beyond its boundary.
    for (let i = 1; i <= 9; i++) fleet.add(i, i * 20, 0);
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 'behind', radiusKm: 5, limit: 2 });
    await settle(AFTER_INTERVAL_MS);
    commit([3, 4, 5, 6, 7].map((id) => fleet.change(id, null, null, 'offline')));
    await settle(AFTER_INTERVAL_MS);
    expect(fleet.searches).toBe(1);
    expect(rider.lastIds('behind')).toEqual([1, 2]);
    // Driver 2 drives off past 8 and 9, which the window never held.
    commit([fleet.change(2, 500, 0)]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('behind')).toEqual(fleet.expected(request));
    expect(rider.lastIds('behind')).toEqual([1, 8]);
  });

  it('corrects a search answer that predates the change which called for it', async () => {
    for (let i = 1; i <= 8; i++) fleet.add(i, i * 20, 0);
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 'lag', radiusKm: 5, limit: 1 });
    await settle(AFTER_INTERVAL_MS);
    commit([1, 2, 3, 4, 5].map((id) => fleet.change(id, null, null, 'offline')));
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('lag')).toEqual([6]);
    fleet.laggingView = fleet.snapshot();
    commit([fleet.change(6, null, null, 'offline')]);
    await settle(AFTER_INTERVAL_MS);
    expect(fleet.searches).toBe(2);
    expect(rider.lastIds('lag')).toEqual(fleet.expected(request));
    expect(rider.lastIds('lag')).toEqual([7]);
  });

  it('applies changes that arrive while a search runs on top of its answer', async () => {
    for (let i = 1; i <= 4; i++) fleet.add(i, i * 100, 0);
    fleet.add(9, 3000, 0);
    let release!: () => void;
    fleet.gate = new Promise((resolve) => (release = resolve));
    // The answer will be computed from the fleet as it is now, before driver 9 moves in.
    fleet.laggingView = fleet.snapshot();
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 'g', radiusKm: 1, limit: 3 });
    commit([fleet.change(9, 10, 0)]);
    release();
    await settle();
    expect(rider.updates).toHaveLength(1);
    expect(rider.lastIds('g')).toEqual(fleet.expected(request));
    expect(rider.lastIds('g')).toEqual([9, 1, 2]);
  });

  it('drops a listed driver that has gone stale', async () => {
    fleet.add(1, 100, 0);
    fleet.add(2, 200, 0);
    const rider = new FakeRider();
    subscribe(rider, { id: 'st' });
    await settle();
    // Driver 2 keeps reporting; driver 1 falls silent.
    for (let elapsed = 0; elapsed < STALE_AFTER_MS + 2000; elapsed += 5000) {
      commit([fleet.change(2, 200, 0)]);
      await settle(5000);
    }
    expect(rider.lastIds('st')).toEqual([2]);
  });

  it('keeps one update owed while the connection is full, and sends the newest state once it drains', async () => {
    for (let i = 1; i <= 3; i++) fleet.add(i, i * 100, 0);
    const rider = new FakeRider();
    const request = subscribe(rider, { id: 'b' });
    await settle();
    rider.writable = false;
    commit([fleet.change(3, 10, 0)]);
    await settle(AFTER_INTERVAL_MS);
    commit([fleet.change(2, 5, 0)]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.updates).toHaveLength(1);
    rider.writable = true;
    registry.drained(rider);
    expect(rider.updates).toHaveLength(2);
    expect(rider.lastIds('b')).toEqual(fleet.expected(request));
  });

  it('stops after unsubscribe and when the connection closes', async () => {
    fleet.add(1, 100, 0);
    fleet.add(2, 3000, 0);
    const rider = new FakeRider();
    subscribe(rider, { id: 'a' });
    subscribe(rider, { id: 'b', lat: at(2900, 0).lat });
    await settle();
    expect(registry.size).toBe(2);
    registry.unsubscribe(rider, 'a');
    commit([fleet.change(2, 120, 0)]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.updatesFor('a')).toHaveLength(1);
    expect(rider.updatesFor('b')).toHaveLength(2);
    registry.disconnect(rider);
    expect(registry.size).toBe(0);
    expect(observer.openCount).toBe(0);
    commit([fleet.change(2, 3000, 0)]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.updates).toHaveLength(3);
  });

  it('refuses a fifth subscription per rider, a reused id and an unknown id with typed errors', async () => {
    const rider = new FakeRider('rider:same');
    for (let i = 0; i < 4; i++) subscribe(rider, { id: i });
    const codeOf = (action: () => void) => {
      try {
        action();
      } catch (error) {
        if (error instanceof HubError) return error.code;
        throw error;
      }
      return 'none';
    };
    expect(codeOf(() => subscribe(rider, { id: 9 }))).toBe('subscription_limit');
    // The limit is per rider, not per connection: another socket of the same rider shares it.
    expect(codeOf(() => subscribe(new FakeRider('rider:same'), { id: 9 }))).toBe('subscription_limit');
    expect(codeOf(() => subscribe(new FakeRider('rider:other'), { id: 9 }))).toBe('none');
    registry.unsubscribe(rider, 3);
    expect(codeOf(() => subscribe(rider, { id: 0 }))).toBe('subscription_exists');
    expect(codeOf(() => registry.unsubscribe(rider, 'nope'))).toBe('not_found');
    expect(codeOf(() => registry.move(rider, { t: 'subscribe.move', id: 'nope', ...CENTRE }))).toBe('not_found');
    expect(codeOf(() => subscribe(rider, { id: 5 }))).toBe('none');
  });

  it('answers a move with an update around the new centre', async () => {
    fleet.add(1, 100, 0);
    fleet.add(2, 5000, 0);
    const rider = new FakeRider();
    subscribe(rider, { id: 'm', radiusKm: 1 });
    await settle();
    expect(rider.lastIds('m')).toEqual([1]);
    registry.move(rider, { t: 'subscribe.move', id: 'm', ...at(5000, 0) });
    await settle(AFTER_INTERVAL_MS);
    expect(rider.lastIds('m')).toEqual([2]);
    // Driver 1 moving no longer concerns it; driver 2 does.
    commit([fleet.change(1, 50, 0)]);
    commit([fleet.change(2, 5200, 0)]);
    await settle(AFTER_INTERVAL_MS);
    expect(rider.updatesFor('m')).toHaveLength(3);
  });

  it('ends a subscription whose first search fails with an unavailable error, and retries later searches', async () => {
    fleet.failing = true;
    const rider = new FakeRider();
    subscribe(rider, { id: 'f' });
    await settle();
    expect(rider.errors).toEqual([expect.objectContaining({ code: 'unavailable', id: 'f' })]);
    expect(registry.size).toBe(0);

    fleet.failing = false;
    for (let i = 1; i <= 12; i++) fleet.add(i, i * 10, 0);
    subscribe(rider, { id: 'r', limit: 1 });
    await settle();
    fleet.failing = true;
    for (let id = 1; id <= 6; id++) commit([fleet.change(id, null, null, 'offline')]);
    await settle(AFTER_INTERVAL_MS);
    expect(observer.searchSources).toContain('failed');
    fleet.failing = false;
    await settle(1500);
    expect(rider.lastIds('r')).toEqual([7]);
  });

  it('matches a brute-force ranking through a long random walk of many drivers and subscriptions', async () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const spread = () => (random() - 0.5) * 6000;
    for (let id = 1; id <= 400; id++)
      fleet.add(id, spread(), spread(), { rating: 3 + Math.round(random() * 20) / 10, vehicleType: random() < 0.3 ? 'van' : 'economy' });
    const positions = new Map([...fleet.drivers.keys()].map((id) => [id, { n: spread(), e: spread() }]));
    const rider = new FakeRider();
    const requests = [
      subscribe(rider, { id: 1, radiusKm: 1, limit: 5 }),
      subscribe(rider, { id: 2, radiusKm: 3, limit: 20, ...at(1000, -500) }),
      subscribe(rider, { id: 3, radiusKm: 2, limit: 10, vehicleType: 'van', ...at(-800, 900) }),
      subscribe(rider, { id: 4, radiusKm: 0.6, limit: 3, minRating: 4.2, ...at(300, 300) }),
    ];
    await settle();
    for (let round = 0; round < 60; round++) {
      const batch: DriverChange[] = [];
      for (const [id, p] of positions) {
        if (random() < 0.5) continue;
        p.n = Math.max(-3000, Math.min(3000, p.n + (random() - 0.5) * 300));
        p.e = Math.max(-3000, Math.min(3000, p.e + (random() - 0.5) * 300));
        const roll = random();
        const status: DriverStatus = roll < 0.03 ? 'offline' : roll < 0.05 ? 'busy' : 'online';
        batch.push(fleet.change(id, p.n, p.e, status));
      }
      commit(batch);
      await settle(AFTER_INTERVAL_MS);
      for (const request of requests) expect(rider.lastIds(request.id), `round ${round}, subscription ${request.id}`).toEqual(fleet.expected(request));
    }
    // Searches stay a small fraction of the evaluations: the windows carry themselves.
    expect(fleet.searches).toBeLessThan(requests.length * 60 * 0.5);
  });
});

describe('cell index of watched circles', () => {
  function visitsAt(index: CellIndex<string>, lat: number, lng: number): string[] {
    const seen: string[] = [];
    index.forEachAt(lat, lng, (member) => seen.push(member));
    return seen;
  }

  it('finds every circle that holds a point, anywhere on the globe and at every size', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 2000; round++) {
      const index = new CellIndex<string>();
      const lat = (random() - 0.5) * 178;
      const lng = (random() - 0.5) * 360;
      const radiusKm = 0.05 + random() ** 3 * 60;
      const cover = index.add('circle', lat, lng, radiusKm);
      // A point inside the circle, at a random bearing and distance.
      const bearing = random() * 2 * Math.PI;
      const distanceKm = random() * radiusKm * 0.999;
      const angular = distanceKm / EARTH_RADIUS_KM;
      const phi1 = (lat * Math.PI) / 180;
      const phi2 = Math.asin(Math.sin(phi1) * Math.cos(angular) + Math.cos(phi1) * Math.sin(angular) * Math.cos(bearing));
      const lambda2 =
        (lng * Math.PI) / 180 + Math.atan2(Math.sin(bearing) * Math.sin(angular) * Math.cos(phi1), Math.cos(angular) - Math.sin(phi1) * Math.sin(phi2));
      const pointLat = (phi2 * 180) / Math.PI;
      const pointLng = (((lambda2 * 180) / Math.PI + 540) % 360) - 180;
      expect(haversineKm(lat, lng, pointLat, pointLng)).toBeLessThanOrEqual(radiusKm);
      expect(visitsAt(index, pointLat, pointLng), `circle ${lat},${lng} r=${radiusKm}`).toEqual(['circle']);
      expect(cover.keys.length).toBeLessThanOrEqual(25);
      index.remove('circle', cover);
      expect(visitsAt(index, pointLat, pointLng)).toEqual([]);
    }
  });

  it('watches a circle across the antimeridian on both sides, and one around a pole everywhere', () => {
    const index = new CellIndex<string>();
    index.add('dateline', 0, 179.99, 5);
    index.add('pole', 89.99, 0, 10);
    expect(visitsAt(index, 0, -179.99)).toEqual(['dateline', 'pole']);
    expect(visitsAt(index, 0, 179.97)).toEqual(['dateline', 'pole']);
    expect(visitsAt(index, 0, 170)).toEqual(['pole']);
  });

  it('keeps a small circle out of cells far from it', () => {
    const index = new CellIndex<string>();
    index.add('small', CENTRE.lat, CENTRE.lng, 0.3);
    expect(visitsAt(index, at(3000, 0).lat, at(3000, 0).lng)).toEqual([]);
    expect(visitsAt(index, at(0, 3000).lat, at(0, 3000).lng)).toEqual([]);
  });
});
