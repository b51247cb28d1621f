import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/auth/tokens.ts';
import { offsetKm, type LatLng } from '../src/domain/geo.ts';
import { rideResponseSchema } from '../src/protocol/rest.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { placeDrivers, TestRider } from './support/ride-parties.ts';
import { AUTH_ENV, TEST_AUTH_SECRET } from './support/tokens.ts';

/**
 * Rides over real sockets, a real hub, PostgreSQL and Redis: the lifecycle,
 * illegal steps, cancellation at each stage, waves, timeouts and reconnects.
 * Each test works in a city of its own (half a degree apart, beyond the
 * widest wave), so drivers left online by one test are never offered
 * another's rides.
 */

let cityCount = 0;
/** A pickup point no other test's drivers are near. */
function newCity(): LatLng {
  cityCount += 1;
  return { lat: 10 + cityCount * 0.5, lng: 20 };
}
/** `km` north of `place`. */
const north = (place: LatLng, km: number) => offsetKm(place, km, 0);

async function rideRow(testHub: TestHub, rideId: string) {
  const { rows } = await testHub.db.query('SELECT status, driver_id, cancelled_by, cancel_reason, wave FROM rides WHERE id = $1', [rideId]);
  return rows[0];
}

async function driverStatus(testHub: TestHub, driverId: number): Promise<string> {
  const { rows } = await testHub.db.query('SELECT status FROM drivers WHERE id = $1', [driverId]);
  return rows[0]!.status as string;
}

describe('a ride over the socket', () => {
  let testHub: TestHub;

  beforeAll(async () => {
    testHub = await startTestHub('ride-lifecycle');
  });
  afterAll(() => testHub.close());

  it('runs a whole ride: offer, accept, the car approaching, arrival, trip, completion', async () => {
    const pickup = newCity();
    const dropoff = north(pickup, 4);
    const [driver] = await placeDrivers(testHub, [north(pickup, 1)]);
    const rider = await TestRider.connect(testHub, 'whole-ride');
    const rideId = await rider.request(pickup, { dropoff, vehicleType: 'economy' });

    const offer = await driver!.waitFor('offer', rideId);
    expect(offer).toMatchObject({ pickup, dropoff, vehicleType: 'economy' });
    expect(offer.distanceKm).toBeCloseTo(1, 2);
    expect(offer.expiresAt).toBeGreaterThan(Date.now());
    driver!.send({ t: 'offer.accept', rideId });

    expect(await driver!.waitFor('ride.assigned', rideId)).toEqual({ t: 'ride.assigned', rideId, rider: 'whole-ride', pickup, dropoff });
    const assigned = await rider.waitFor('ride.assigned', rideId);
    expect(assigned).toMatchObject({ driver: { id: driver!.id, name: 'Test Driver 0', vehicleType: 'economy', rating: 4.5 } });
    expect('etaKm' in assigned && assigned.etaKm).toBeCloseTo(1, 2);
    expect(await driverStatus(testHub, driver!.id)).toBe('busy');

    // While the driver approaches, each committed position reaches the rider.
    const halfway = north(pickup, 0.5);
    await driver!.moveTo(halfway);
    await rider.client.waitFor((m) => m.t === 'ride.driver' && m.rideId === rideId && m.lat === halfway.lat && m.lng === halfway.lng);
    // A busy driver is in no nearby answer.
    rider.send({ t: 'nearby', id: 'n1', lat: pickup.lat, lng: pickup.lng, radiusKm: 5 });
    const nearby = await rider.client.waitFor((m) => m.t === 'nearby.result' && m.id === 'n1');
    expect(nearby.t === 'nearby.result' && nearby.drivers).toEqual([]);

    for (const step of ['arrived', 'started', 'completed'] as const) {
      driver!.send({ t: `ride.${step}`, rideId });
      const [toRider, toDriver] = await Promise.all([
        rider.client.waitFor((m) => m.t === 'ride.status' && m.rideId === rideId && m.status === step),
        driver!.client.waitFor((m) => m.t === 'ride.status' && m.rideId === rideId && m.status === step),
      ]);
      expect(toRider).toEqual(toDriver);
      if (step === 'started') {
        // On the trip, positions are no longer pushed.
        const pushed = rider.count('ride.driver', rideId);
        await driver!.moveTo(north(pickup, 2));
        // A push would have left at the commit the ack confirms, so before this answer on the rider's socket.
        rider.send({ t: 'nearby', id: 'after-start', lat: pickup.lat, lng: pickup.lng });
        await rider.client.waitFor((m) => m.t === 'nearby.result' && m.id === 'after-start');
        expect(rider.count('ride.driver', rideId)).toBe(pushed);
      }
    }
    expect(await driverStatus(testHub, driver!.id)).toBe('online');
    const row = await rideRow(testHub, rideId);
    expect(row).toMatchObject({ status: 'completed', driver_id: driver!.id });

    // The operator's view: every transition time and the offer.
    const response = await fetch(testHub.httpUrl(`/api/rides/${rideId}`));
    expect(response.status).toBe(200);
    const body = rideResponseSchema.parse(await response.json());
    expect(body.data).toMatchObject({ id: rideId, riderId: 'whole-ride', driverId: driver!.id, status: 'completed', pickup, dropoff, wave: 1 });
    for (const stamp of ['requestedAt', 'assignedAt', 'arrivedAt', 'startedAt', 'completedAt'] as const) expect(body.data[stamp]).not.toBeNull();
    expect(body.data.offers).toEqual([expect.objectContaining({ driverId: driver!.id, wave: 1, answer: 'accepted' })]);
    expect((await fetch(testHub.httpUrl('/api/rides/00000000-0000-4000-8000-000000000000'))).status).toBe(404);
    expect((await fetch(testHub.httpUrl('/api/rides/not-a-ride'))).status).toBe(400);
    driver!.close();
    rider.close();
  });

  it('refuses illegal steps with a typed error and changes nothing', async () => {
    const pickup = newCity();
    const [driver, other] = await placeDrivers(testHub, [north(pickup, 1), north(pickup, 40)]);
    const rider = await TestRider.connect(testHub, 'illegal-steps');
    const rideId = await rider.request(pickup);
    await driver!.waitFor('offer', rideId);
    // Not yet this driver's ride: it cannot arrive at it.
    driver!.send({ t: 'ride.arrived', rideId });
    expect(await driver!.client.waitFor((m) => m.t === 'error' && m.rideId === rideId)).toMatchObject({ code: 'not_found' });
    driver!.send({ t: 'offer.accept', rideId });
    await rider.waitFor('ride.assigned', rideId);

    driver!.send({ t: 'ride.completed', rideId });
    const error = await driver!.client.waitFor((m) => m.t === 'error' && m.code === 'illegal_transition');
    expect(error).toMatchObject({ code: 'illegal_transition', rideId });
    // Another driver cannot touch it, nor can another rider.
    other!.send({ t: 'ride.cancel', rideId });
    expect(await other!.client.waitFor((m) => m.t === 'error' && m.rideId === rideId)).toMatchObject({ code: 'not_found' });
    const stranger = await TestRider.connect(testHub, 'stranger');
    stranger.send({ t: 'ride.cancel', rideId, reason: 'mischief' });
    expect(await stranger.client.waitFor((m) => m.t === 'error' && m.rideId === rideId)).toMatchObject({ code: 'not_found' });
    // A second request while one is open is refused.
    rider.send({ t: 'ride.request', id: 'again', pickup });
    expect(await rider.client.waitFor((m) => m.t === 'error' && m.id === 'again')).toMatchObject({ code: 'ride_in_progress' });
    // A malformed ride id never reaches the database.
    driver!.send({ t: 'offer.accept', rideId: 'ride-1' });
    expect(await driver!.client.waitFor((m) => m.t === 'error' && m.code === 'invalid_field')).toBeDefined();

    expect(await rideRow(testHub, rideId)).toMatchObject({ status: 'assigned', driver_id: driver!.id });
    expect(await driverStatus(testHub, driver!.id)).toBe('busy');
    expect(rider.count('ride.status')).toBe(0);
    for (const party of [driver!, other!, rider, stranger]) party.close();
  });

  it('cancels at every stage before the trip, and refuses once it has started', async () => {
    const pickup = newCity();
    const drivers = await placeDrivers(testHub, [north(pickup, 1), north(pickup, 1.5)]);

    // requested: the open offers are withdrawn.
    const early = await TestRider.connect(testHub, 'cancel-requested');
    const requested = await early.request(pickup);
    await Promise.all(drivers.map((driver) => driver.waitFor('offer', requested)));
    early.send({ t: 'ride.cancel', rideId: requested, reason: 'plans changed' });
    expect(await early.waitFor('ride.status', requested)).toMatchObject({ status: 'cancelled', by: 'rider', reason: 'plans changed' });
    for (const driver of drivers) expect(await driver.waitFor('offer.cancelled', requested)).toMatchObject({ reason: 'cancelled' });
    expect(await rideRow(testHub, requested)).toMatchObject({ status: 'cancelled', cancelled_by: 'rider', cancel_reason: 'plans changed' });

    // assigned, by the rider; arrived, by the driver: the driver is online again either way.
    for (const [stage, by] of [
      ['assigned', 'rider'],
      ['arrived', 'driver'],
    ] as const) {
      const rider = await TestRider.connect(testHub, `cancel-${stage}`);
      const rideId = await rider.request(pickup);
      const driver = drivers[0]!;
      await driver.waitFor('offer', rideId);
      driver.send({ t: 'offer.accept', rideId });
      await rider.waitFor('ride.assigned', rideId);
      if (stage === 'arrived') {
        driver.send({ t: 'ride.arrived', rideId });
        await rider.client.waitFor((m) => m.t === 'ride.status' && m.status === 'arrived');
      }
      (by === 'rider' ? rider : driver).send({ t: 'ride.cancel', rideId, reason: `cancelled while ${stage}` });
      for (const party of [rider, driver]) {
        expect(await party.client.waitFor((m) => m.t === 'ride.status' && m.rideId === rideId && m.status === 'cancelled')).toMatchObject({ by });
      }
      expect(await driverStatus(testHub, driver.id)).toBe('online');
      rider.close();
    }

    // started: too late to cancel.
    const late = await TestRider.connect(testHub, 'cancel-started');
    const started = await late.request(pickup);
    const driver = drivers[0]!;
    await driver.waitFor('offer', started);
    driver.send({ t: 'offer.accept', rideId: started });
    await late.waitFor('ride.assigned', started);
    driver.send({ t: 'ride.arrived', rideId: started });
    driver.send({ t: 'ride.started', rideId: started });
    await late.client.waitFor((m) => m.t === 'ride.status' && m.rideId === started && m.status === 'started');
    late.send({ t: 'ride.cancel', rideId: started });
    expect(await late.client.waitFor((m) => m.t === 'error' && m.rideId === started)).toMatchObject({ code: 'illegal_transition' });
    expect(await rideRow(testHub, started)).toMatchObject({ status: 'started' });
    for (const party of [...drivers, early, late]) party.close();
  });

  it('goes to the next, wider wave at once when the wave declines', async () => {
    const pickup = newCity();
    // Three near drivers form wave one; the fourth is beyond its 3 km.
    const drivers = await placeDrivers(testHub, [north(pickup, 0.5), north(pickup, 1), north(pickup, 1.5), north(pickup, 5)]);
    const rider = await TestRider.connect(testHub, 'declined');
    const rideId = await rider.request(pickup);
    for (const driver of drivers.slice(0, 3)) {
      await driver.waitFor('offer', rideId);
      driver.send({ t: 'offer.decline', rideId });
    }
    const far = drivers[3]!;
    expect((await far.waitFor('offer', rideId)).distanceKm).toBeCloseTo(5, 2);
    expect(await rideRow(testHub, rideId)).toMatchObject({ status: 'requested', wave: 2 });
    far.send({ t: 'offer.accept', rideId });
    await rider.waitFor('ride.assigned', rideId);
    // A decline is not answered.
    expect(drivers.slice(0, 3).every((driver) => driver.count('offer.cancelled') === 0)).toBe(true);
    for (const party of [...drivers, rider]) party.close();
  });

  it('declines the open offer of a driver who goes offline, so the next wave starts before the offer would expire', async () => {
    const pickup = newCity();
    const [near, far] = await placeDrivers(testHub, [north(pickup, 0.5), north(pickup, 5)]);
    const rider = await TestRider.connect(testHub, 'gone-offline');
    const rideId = await rider.request(pickup);
    await near!.waitFor('offer', rideId);
    near!.send({ t: 'status', status: 'offline' });
    // Well inside the 15 s offer timeout: the wave moved on because of the status, not the clock.
    expect(await near!.waitFor('offer.cancelled', rideId, 8000)).toMatchObject({ reason: 'unavailable' });
    expect((await far!.waitFor('offer', rideId, 8000)).distanceKm).toBeCloseTo(5, 2);
    const { rows } = await testHub.db.query('SELECT answer FROM offers WHERE ride_id = $1 AND driver_id = $2', [rideId, near!.id]);
    expect(rows).toEqual([{ answer: 'declined' }]);
    for (const party of [near!, far!, rider]) party.close();
  });

  it('picks up after a reconnect: the offer again mid-offer, the ride state mid-ride', async () => {
    const pickup = newCity();
    const [driver] = await placeDrivers(testHub, [north(pickup, 1)]);
    const rider = await TestRider.connect(testHub, 'reconnecting');
    const rideId = await rider.request(pickup);
    const offer = await driver!.waitFor('offer', rideId);

    await driver!.reconnect();
    expect(await driver!.waitFor('offer', rideId)).toEqual(offer);
    driver!.send({ t: 'offer.accept', rideId });
    await rider.waitFor('ride.assigned', rideId);

    await Promise.all([driver!.reconnect(), rider.reconnect()]);
    expect(await driver!.waitFor('ride.state', rideId)).toMatchObject({ status: 'assigned', rider: 'reconnecting', pickup });
    expect(await rider.waitFor('ride.state', rideId)).toMatchObject({ status: 'assigned', pickup, driver: { id: driver!.id } });
    // The ride goes on over the new sockets, positions included.
    const closer = north(pickup, 0.2);
    await driver!.moveTo(closer);
    await rider.client.waitFor((m) => m.t === 'ride.driver' && m.rideId === rideId && m.lat === closer.lat);
    driver!.send({ t: 'ride.arrived', rideId });
    await rider.client.waitFor((m) => m.t === 'ride.status' && m.rideId === rideId && m.status === 'arrived');
    for (const party of [driver!, rider]) party.close();
  });
});

describe('offer deadlines', () => {
  let testHub: TestHub;

  beforeAll(async () => {
    testHub = await startTestHub('ride-deadlines', { DISPATCH_OFFER_TIMEOUT_MS: '1000', DISPATCH_WAVE_SIZE: '1', DISPATCH_MAX_WAVES: '2' });
  });
  afterAll(() => testHub.close());

  it('expires silent offers, widens the search, and ends unmatched; a late accept is told it expired', async () => {
    const pickup = newCity();
    const [near, far] = await placeDrivers(testHub, [north(pickup, 1), north(pickup, 4)]);
    const rider = await TestRider.connect(testHub, 'nobody-answers');
    const rideId = await rider.request(pickup);

    const first = await near!.waitFor('offer', rideId);
    expect(await near!.waitFor('offer.cancelled', rideId)).toMatchObject({ reason: 'expired' });
    // The deadline measures the offer: it never ends before expiresAt.
    expect(Date.now()).toBeGreaterThanOrEqual(first.expiresAt);
    const second = await far!.waitFor('offer', rideId);
    expect(second.expiresAt).toBeGreaterThan(first.expiresAt);
    await rider.waitFor('ride.unmatched', rideId);
    expect(await far!.waitFor('offer.cancelled', rideId)).toMatchObject({ reason: 'expired' });

    near!.send({ t: 'offer.accept', rideId });
    await expect.poll(() => near!.count('offer.cancelled', rideId)).toBe(2);
    expect(await rideRow(testHub, rideId)).toMatchObject({ status: 'unmatched', driver_id: null, wave: 2 });
    const { rows } = await testHub.db.query('SELECT driver_id, wave, answer FROM offers WHERE ride_id = $1 ORDER BY wave', [rideId]);
    expect(rows).toEqual([
      { driver_id: near!.id, wave: 1, answer: 'expired' },
      { driver_id: far!.id, wave: 2, answer: 'expired' },
    ]);
    expect(await driverStatus(testHub, near!.id)).toBe('online');
    for (const party of [near!, far!, rider]) party.close();
  });

  it('ends unmatched at once when nobody is near', async () => {
    const rider = await TestRider.connect(testHub, 'alone');
    const rideId = await rider.request(newCity());
    await rider.waitFor('ride.unmatched', rideId, 3000);
    rider.close();
  });
});

describe('the operator ride read with auth on', () => {
  let testHub: TestHub;

  beforeAll(async () => {
    testHub = await startTestHub('ride-rest-auth', AUTH_ENV);
  });
  afterAll(() => testHub.close());

  it('needs an operator token', async () => {
    const url = testHub.httpUrl('/api/rides/00000000-0000-4000-8000-000000000000');
    expect((await fetch(url)).status).toBe(401);
    const riderToken = await signToken({ role: 'rider', subject: 'r1', ttl: '5m', secret: TEST_AUTH_SECRET });
    expect((await fetch(url, { headers: { authorization: `Bearer ${riderToken}` } })).status).toBe(403);
    const operatorToken = await signToken({ role: 'operator', subject: 'ops', ttl: '5m', secret: TEST_AUTH_SECRET });
    expect((await fetch(url, { headers: { authorization: `Bearer ${operatorToken}` } })).status).toBe(404);
  });
});
