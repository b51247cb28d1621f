import { describe, expect, it } from 'vitest';
import { offsetKm } from '../src/domain/geo.ts';
import { DispatchService } from '../src/dispatch/dispatch-service.ts';
import type { DispatchSettings } from '../src/dispatch/ports.ts';
import { createLogger } from '../src/logger.ts';
import { HubError } from '../src/protocol/errors.ts';
import type { OfferMessage, RideAssignedToRider } from '../src/protocol/ride-messages.ts';
import { FakeCandidates, FakeClock, FakeRideStore, ManualTimers, RecordingDelivery, RecordingObserver, type FakeDriver } from './support/fake-dispatch.ts';
import { anyString, objectContaining } from './support/matchers.ts';

/** The dispatch service's sequencing (waves, deadlines, answers, lifecycle, pushes) against fakes of its interfaces. */

const PICKUP = { lat: 48.8566, lng: 2.3522 };
const SETTINGS: DispatchSettings = { waveSize: 3, offerTimeoutMs: 15_000, maxWaves: 3, firstRadiusKm: 3 };

/** A fleet with drivers `kmAway[i]` km north of the pickup, ids 1, 2, … */
function harness(kmAway: number[], settings: Partial<DispatchSettings> = {}) {
  const clock = new FakeClock();
  const drivers = new Map<number, FakeDriver>(kmAway.map((km, index) => [index + 1, { id: index + 1, ...offsetKm(PICKUP, km, 0), status: 'online' as const }]));
  const store = new FakeRideStore(drivers, clock);
  const timers = new ManualTimers(clock);
  const delivery = new RecordingDelivery();
  const observer = new RecordingObserver();
  const candidates = new FakeCandidates(drivers);
  const service = new DispatchService({
    rides: store,
    candidates,
    delivery,
    timers,
    observer,
    settings: { ...SETTINGS, ...settings },
    logger: createLogger('silent'),
    now: clock.now,
  });
  async function request(riderId = 'rider-1') {
    const reply = await service.request(riderId, { t: 'ride.request', id: 'r1', pickup: PICKUP });
    await timers.runDue();
    return reply.rideId;
  }
  const offeredTo = (rideId: string) =>
    delivery
      .ofType('offer')
      .filter((entry) => (entry.message as OfferMessage).rideId === rideId)
      .map((entry) => Number(entry.to.slice('driver:'.length)));
  return { clock, drivers, store, timers, delivery, observer, candidates, service, request, offeredTo };
}

async function rejection(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(HubError);
  return error as HubError;
}

describe('dispatch waves', () => {
  it('answers ride.requested, then offers the nearest drivers within the first radius', async () => {
    const h = harness([0.5, 1, 1.5, 2, 4]);
    const reply = await h.service.request('rider-1', { t: 'ride.request', id: 'q7', pickup: PICKUP });
    expect(reply).toEqual({ t: 'ride.requested', id: 'q7', rideId: anyString() });
    // Nothing is offered before the reply has gone out.
    expect(h.delivery.sent).toEqual([]);
    await h.timers.runDue();
    expect(h.offeredTo(reply.rideId)).toEqual([1, 2, 3]);
    const offer = h.delivery.to('driver:1', 'offer')[0] as OfferMessage;
    expect(offer).toEqual({ t: 'offer', rideId: reply.rideId, pickup: PICKUP, distanceKm: 0.5, expiresAt: h.clock.ms + 15_000 });
    expect(h.candidates.queries[0]).toMatchObject({ radiusKm: 3 });
    expect(h.timers.deadlineOf(reply.rideId)).toBe(h.clock.ms + 15_000);
  });

  it('gives the ride to the first accept: the winner, the other offers and the rider each hear once', async () => {
    const h = harness([0.5, 1, 1.5]);
    const rideId = await h.request();
    await h.service.accept(2, rideId, h.clock.ms);
    expect(h.delivery.to('driver:2')).toContainEqual({ t: 'ride.assigned', rideId, rider: 'rider-1', pickup: PICKUP });
    expect(h.delivery.to('driver:1', 'offer.cancelled')).toEqual([{ t: 'offer.cancelled', rideId, reason: 'taken' }]);
    expect(h.delivery.to('driver:3', 'offer.cancelled')).toEqual([{ t: 'offer.cancelled', rideId, reason: 'taken' }]);
    const assigned = h.delivery.to('rider:rider-1', 'ride.assigned')[0] as RideAssignedToRider;
    expect(assigned.driver).toMatchObject({ id: 2, name: 'Driver 2' });
    expect(assigned.etaKm).toBeCloseTo(1, 3);
    expect(h.timers.size).toBe(0);
    expect(h.observer.statuses).toEqual([[2, 'busy']]);
    // A loser's accept crossed the withdrawal on the wire: that withdrawal was its answer.
    await h.service.accept(1, rideId, h.clock.ms);
    expect(h.delivery.to('driver:1', 'offer.cancelled')).toHaveLength(1);
  });

  it('starts the next, wider wave at once when every offer of a wave is declined', async () => {
    const h = harness([0.5, 1, 1.5, 4, 5, 20]);
    const rideId = await h.request();
    await h.service.decline(1, rideId, h.clock.ms);
    await h.service.decline(2, rideId, h.clock.ms);
    expect(h.offeredTo(rideId)).toEqual([1, 2, 3]);
    await h.service.decline(3, rideId, h.clock.ms);
    await h.timers.runDue();
    expect(h.offeredTo(rideId)).toEqual([1, 2, 3, 4, 5]);
    expect(h.candidates.queries.map((query) => query.radiusKm)).toEqual([3, 6]);
    // A decline needs no answer.
    expect(h.delivery.ofType('offer.cancelled')).toEqual([]);
  });

  it('expires silent offers at the deadline, tells each driver, and widens the search', async () => {
    const h = harness([0.5, 4, 10]);
    const rideId = await h.request();
    await h.timers.advanceTo(h.clock.ms + 14_999);
    expect(h.delivery.ofType('offer.cancelled')).toEqual([]);
    await h.timers.advanceTo(h.clock.ms + 1);
    expect(h.delivery.to('driver:1', 'offer.cancelled')).toEqual([{ t: 'offer.cancelled', rideId, reason: 'expired' }]);
    expect(h.offeredTo(rideId)).toEqual([1, 2]);
    await h.timers.advanceTo(h.clock.ms + 15_000);
    expect(h.offeredTo(rideId)).toEqual([1, 2, 3]);
    expect(h.candidates.queries.map((query) => query.radiusKm)).toEqual([3, 6, 12]);
    // A late accept is told the offer expired.
    await h.service.accept(1, rideId, h.clock.ms);
    expect(h.delivery.to('driver:1', 'offer.cancelled')).toHaveLength(2);
    expect(h.store.rides.get(rideId)!.status).toBe('requested');
  });

  it('ends unmatched after the last wave, and at once when nobody is near', async () => {
    const h = harness([1]);
    const rideId = await h.request();
    await h.timers.advanceTo(h.clock.ms + 15_000);
    expect(h.delivery.to('rider:rider-1')).toEqual([{ t: 'ride.unmatched', rideId }]);
    expect(h.store.rides.get(rideId)!.status).toBe('unmatched');
    expect(h.timers.size).toBe(0);

    const empty = harness([50]);
    const lonely = await empty.request();
    expect(empty.delivery.to('rider:rider-1')).toEqual([{ t: 'ride.unmatched', rideId: lonely }]);
    expect(empty.candidates.queries).toHaveLength(3);
  });

  it('lets an accept that arrived before the deadline win even though the deadline fires while it is written', async () => {
    const h = harness([0.5]);
    const rideId = await h.request();
    // The accept's write is held up until the deadline has fired.
    const write = h.store.acceptOffer.bind(h.store);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    h.store.acceptOffer = async (...args) => {
      await held;
      return write(...args);
    };
    const accepting = h.service.accept(1, rideId, h.clock.ms + 14_000);
    const deadline = h.timers.advanceTo(h.clock.ms + 15_000);
    release();
    await Promise.all([accepting, deadline]);
    expect(h.store.rides.get(rideId)!.status).toBe('assigned');
    expect(h.delivery.ofType('offer.cancelled')).toEqual([]);
  });

  it('lets another hub pick up a ride whose deadline passed with no timer left to run it', async () => {
    const h = harness([0.5, 4]);
    const rideId = await h.request();
    // The hub that owned the ride is gone: its timers with it.
    h.timers.stop();
    h.clock.ms += 15_000;
    expect(await h.service.sweepOverdue(2000, 10)).toBe(0);
    h.clock.ms += 2001;
    expect(await h.service.sweepOverdue(2000, 10)).toBe(1);
    await h.timers.runDue();
    expect(h.delivery.to('driver:1', 'offer.cancelled')).toEqual([{ t: 'offer.cancelled', rideId, reason: 'expired' }]);
    expect(h.offeredTo(rideId)).toEqual([1, 2]);
    // A ride whose first wave never opened is picked up too.
    const orphan = await h.service.request('rider-2', { t: 'ride.request', id: 'o', pickup: PICKUP });
    h.timers.clear(orphan.rideId);
    h.clock.ms += 2001;
    await h.service.sweepOverdue(2000, 10);
    await h.timers.runDue();
    expect(h.offeredTo(orphan.rideId)).toEqual([1]);
  });

  it('skips drivers that hold another offer or are busy, and refuses a second open ride per rider', async () => {
    const h = harness([0.5, 1, 1.5, 2]);
    const first = await h.request('rider-1');
    const second = await h.request('rider-2');
    expect(h.offeredTo(first)).toEqual([1, 2, 3]);
    expect(h.offeredTo(second)).toEqual([4]);
    const error = await rejection(h.service.request('rider-1', { t: 'ride.request', id: 'again', pickup: PICKUP }));
    expect(error.code).toBe('ride_in_progress');
    expect(error.requestId).toBe('again');
  });
});

describe('ride lifecycle', () => {
  async function assignedRide() {
    const h = harness([0.5]);
    const rideId = await h.request();
    await h.service.accept(1, rideId, h.clock.ms);
    h.delivery.sent.length = 0;
    return { h, rideId, driver: { role: 'driver', driverId: 1 } as const, rider: { role: 'rider', riderId: 'rider-1' } as const };
  }

  it('pushes each step to both sides and frees the driver on completion', async () => {
    const { h, rideId, driver } = await assignedRide();
    for (const step of ['arrived', 'started', 'completed'] as const) {
      h.clock.ms += 60_000;
      await h.service.transition(driver, rideId, step);
      const expected = { t: 'ride.status', rideId, status: step, at: h.clock.ms };
      expect(h.delivery.to('rider:rider-1').at(-1)).toEqual(expected);
      expect(h.delivery.to('driver:1').at(-1)).toEqual(expected);
    }
    expect(h.observer.statuses.at(-1)).toEqual([1, 'online']);
  });

  it('refuses an illegal step with a typed error and changes nothing', async () => {
    const { h, rideId, driver, rider } = await assignedRide();
    const error = await rejection(h.service.transition(driver, rideId, 'started'));
    expect(error).toMatchObject({ code: 'illegal_transition', rideId });
    expect((await rejection(h.service.transition(rider, rideId, 'arrived'))).code).toBe('forbidden');
    expect((await rejection(h.service.transition({ role: 'driver', driverId: 9 }, rideId, 'arrived'))).code).toBe('not_found');
    expect(h.delivery.sent).toEqual([]);
    expect(h.store.rides.get(rideId)!.status).toBe('assigned');
  });

  it('cancels at every stage before the trip starts, and not after', async () => {
    const requested = harness([0.5, 1]);
    const rideId = await requested.request();
    await requested.service.transition({ role: 'rider', riderId: 'rider-1' }, rideId, 'cancelled', 'found another way');
    expect(requested.delivery.ofType('offer.cancelled').map((entry) => entry.message)).toEqual([
      { t: 'offer.cancelled', rideId, reason: 'cancelled' },
      { t: 'offer.cancelled', rideId, reason: 'cancelled' },
    ]);
    expect(requested.delivery.to('rider:rider-1').at(-1)).toMatchObject({ status: 'cancelled', by: 'rider', reason: 'found another way' });
    expect(requested.timers.size).toBe(0);

    for (const stage of [[], ['arrived']] as const) {
      const { h, rideId: id, driver } = await assignedRide();
      for (const step of stage) await h.service.transition(driver, id, step);
      await h.service.transition(driver, id, 'cancelled', 'flat tyre');
      expect(h.delivery.to('rider:rider-1').at(-1)).toMatchObject({ status: 'cancelled', by: 'driver' });
      expect(h.observer.statuses.at(-1)).toEqual([1, 'online']);
    }

    const { h, rideId: started, driver, rider } = await assignedRide();
    await h.service.transition(driver, started, 'arrived');
    await h.service.transition(driver, started, 'started');
    expect((await rejection(h.service.transition(rider, started, 'cancelled'))).code).toBe('illegal_transition');
  });

  it('pushes the driver position to the rider while assigned or arrived only', async () => {
    const { h, rideId, driver } = await assignedRide();
    const committed = (ids: number[]) => ({
      ids,
      statuses: ids.map(() => 'busy' as const),
      lats: ids.map((id) => (id === 1 ? 48.86 : 1)),
      lngs: ids.map((id) => (id === 1 ? 2.35 : 1)),
      seenAtMs: ids.map(() => h.clock.ms),
    });
    h.service.positionsCommitted(committed([2, 1]));
    expect(h.delivery.sent).toEqual([{ to: 'rider:rider-1', message: { t: 'ride.driver', rideId, lat: 48.86, lng: 2.35, at: h.clock.ms } }]);
    await h.service.transition(driver, rideId, 'arrived');
    h.service.positionsCommitted(committed([1]));
    expect(h.delivery.ofType('ride.driver')).toHaveLength(2);
    await h.service.transition(driver, rideId, 'started');
    h.service.positionsCommitted(committed([1]));
    expect(h.delivery.ofType('ride.driver')).toHaveLength(2);
    expect(h.service.approachingCount).toBe(0);
  });

  it('stops pushing the driver position when another process ended the approach, or the driver left this process', async () => {
    const positions = (h: Awaited<ReturnType<typeof assignedRide>>['h']) => ({
      ids: [1],
      statuses: ['busy' as const],
      lats: [48.86],
      lngs: [2.35],
      seenAtMs: [h.clock.ms],
    });
    const cancelledElsewhere = await assignedRide();
    cancelledElsewhere.h.service.statusRelayed(1, { t: 'ride.status', rideId: cancelledElsewhere.rideId, status: 'arrived', at: 0 });
    expect(cancelledElsewhere.h.service.approachingCount).toBe(1);
    cancelledElsewhere.h.service.statusRelayed(1, { t: 'ride.status', rideId: cancelledElsewhere.rideId, status: 'cancelled', at: 0, by: 'rider' });
    cancelledElsewhere.h.service.positionsCommitted(positions(cancelledElsewhere.h));
    expect(cancelledElsewhere.h.delivery.ofType('ride.driver')).toHaveLength(0);

    const left = await assignedRide();
    left.h.service.driverLeft(1);
    left.h.service.positionsCommitted(positions(left.h));
    expect(left.h.delivery.ofType('ride.driver')).toHaveLength(0);
  });

  it('gives a reconnecting rider and driver the ride state, and a driver its open offer again', async () => {
    const h = harness([0.5, 1]);
    const rideId = await h.request();
    h.delivery.sent.length = 0;
    await h.service.resume({ role: 'driver', driverId: 2 });
    expect(h.delivery.to('driver:2')).toEqual([expect.objectContaining({ t: 'offer', rideId, distanceKm: 1 })]);
    await h.service.accept(1, rideId, h.clock.ms);
    h.delivery.sent.length = 0;
    await h.service.resume({ role: 'rider', riderId: 'rider-1' });
    await h.service.resume({ role: 'driver', driverId: 1 });
    expect(h.delivery.to('rider:rider-1')).toEqual([
      { t: 'ride.state', rideId, status: 'assigned', at: h.clock.ms, pickup: PICKUP, driver: objectContaining({ id: 1 }) },
    ]);
    expect(h.delivery.to('driver:1')).toEqual([{ t: 'ride.state', rideId, status: 'assigned', at: h.clock.ms, pickup: PICKUP, rider: 'rider-1' }]);
  });
});
