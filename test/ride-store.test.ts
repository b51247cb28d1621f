import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RideStore } from '../src/store/ride-store.ts';
import { storeBackends, type StoreHarness } from './support/store-backends.ts';

/** The ride store's conditional writes, on both backends, checked against the rows they leave. */
const backends = storeBackends({ dispatchPoolSize: 20 });

const PICKUP = { lat: 52.52, lng: 13.405 };
const LATER = () => Date.now() + 60_000;

for (const backend of backends) {
  describe(`ride store (${backend.name})`, () => {
    let harness: StoreHarness;
    let rides: RideStore;
    let riderSeq = 0;

    beforeAll(async () => {
      harness = await backend.open();
      await harness.store.migrate();
      rides = harness.store.rides;
    });
    afterAll(() => harness.dispose());

    async function drivers(count: number, status: 'online' | 'offline' = 'online'): Promise<number[]> {
      return harness.store.insertDrivers(
        Array.from({ length: count }, (_, index) => ({
          name: `Driver ${index}`,
          phone: `+100${index}`,
          vehicleType: 'economy' as const,
          rating: 4.5,
          totalRides: 0,
          status,
          lat: PICKUP.lat + index * 0.001,
          lng: PICKUP.lng,
        })),
      );
    }

    async function requested(): Promise<string> {
      const created = await rides.createRide({ riderId: `rider-${++riderSeq}`, pickup: PICKUP, dropoff: null, vehicleType: null });
      if (!created.created) throw new Error('rider already has a ride');
      return created.ride.id;
    }

    const candidates = (ids: number[]) => ids.map((driverId, index) => ({ driverId, distanceKm: index * 0.1 }));

    async function offered(ids: number[], expiresAtMs = LATER()): Promise<string> {
      const rideId = await requested();
      const wave = await rides.openWave(rideId, 1, candidates(ids), ids.length, expiresAtMs);
      if (!wave.opened) throw new Error('wave did not open');
      return rideId;
    }

    async function statusOf(driverId: number): Promise<string> {
      const [row] = await harness.query('SELECT status FROM drivers WHERE id = $1', [driverId]);
      return String(row!.status);
    }

    it('keeps one open ride per rider', async () => {
      const first = await rides.createRide({ riderId: 'solo', pickup: PICKUP, dropoff: { lat: 52.5, lng: 13.4 }, vehicleType: 'comfort' });
      expect(first.created).toBe(true);
      if (!first.created) return;
      expect(first.ride).toMatchObject({ status: 'requested', riderId: 'solo', dropoff: { lat: 52.5, lng: 13.4 }, vehicleType: 'comfort', wave: 0 });
      expect(await rides.createRide({ riderId: 'solo', pickup: PICKUP, dropoff: null, vehicleType: null })).toEqual({
        created: false,
        openRideId: first.ride.id,
      });
      await rides.transition(first.ride.id, { role: 'rider', riderId: 'solo' }, 'cancelled', 'changed my mind');
      expect((await rides.createRide({ riderId: 'solo', pickup: PICKUP, dropoff: null, vehicleType: null })).created).toBe(true);
    });

    it('offers a wave to the nearest eligible drivers, once per wave number', async () => {
      const [offline] = await drivers(1, 'offline');
      const [holding, a, b, c] = await drivers(4);
      await offered([holding!]);
      const rideId = await requested();
      const wave = await rides.openWave(rideId, 1, candidates([offline!, holding!, a!, b!, c!]), 2, LATER());
      expect(wave.opened).toBe(true);
      if (!wave.opened) return;
      // Offline and already-holding drivers are skipped; the next two in order are offered.
      expect(wave.offers.map((offer) => offer.driverId)).toEqual([a, b]);
      expect(wave.ride.wave).toBe(1);
      // The same wave cannot open twice; the next one skips drivers this ride was offered before.
      expect((await rides.openWave(rideId, 1, candidates([c!]), 2, LATER())).opened).toBe(false);
      await rides.endWave(rideId, 1, Date.now());
      const second = await rides.openWave(rideId, 2, candidates([a!, b!, c!]), 2, LATER());
      expect(second.opened && second.offers.map((offer) => offer.driverId)).toEqual([c]);
    });

    it('assigns the first accept in one transaction and withdraws the other offers', async () => {
      const ids = await drivers(3);
      const rideId = await offered(ids);
      const result = await rides.acceptOffer(rideId, ids[1]!, Date.now());
      expect(result.kind).toBe('assigned');
      if (result.kind !== 'assigned') return;
      expect(result.ride).toMatchObject({ status: 'assigned', driverId: ids[1] });
      expect(result.driver).toMatchObject({ id: ids[1], name: 'Driver 1', vehicleType: 'economy' });
      expect(result.withdrawn.sort()).toEqual([ids[0], ids[2]].sort());
      expect(await statusOf(ids[1]!)).toBe('busy');
      // The losers: a later accept is closed and recorded as lost.
      expect(await rides.acceptOffer(rideId, ids[0]!, Date.now())).toEqual({ kind: 'closed', answer: 'taken' });
      const answers = await harness.query('SELECT driver_id, answer FROM offers WHERE ride_id = $1 ORDER BY driver_id', [rideId]);
      expect(answers.map((row) => row.answer)).toEqual(['lost', 'accepted', 'taken']);
    });

    it('lets exactly one of many simultaneous accepts win', async () => {
      const ids = await drivers(50);
      const rideId = await offered(ids);
      const results = await Promise.all(ids.map((id) => rides.acceptOffer(rideId, id, Date.now())));
      const winners = results.filter((result) => result.kind === 'assigned');
      expect(winners).toHaveLength(1);
      expect(results.filter((result) => result.kind === 'closed')).toHaveLength(49);
      const [ride] = await harness.query('SELECT status, driver_id FROM rides WHERE id = $1', [rideId]);
      const busy = await harness.query(`SELECT id FROM drivers WHERE id = ANY($1::int[]) AND status = 'busy'`, [ids]);
      expect(ride).toEqual({ status: 'assigned', driver_id: winners[0]!.kind === 'assigned' ? winners[0]!.ride.driverId : null });
      expect(busy.map((row) => row.id)).toEqual([ride!.driver_id]);
    });

    it('refuses an accept after the offer expired, and an offline driver, without touching the ride', async () => {
      const [late, gone, other] = await drivers(3);
      const deadline = Date.now();
      const rideId = await offered([late!, gone!, other!], deadline);
      const ended = await rides.endWave(rideId, 1, Date.now());
      expect(ended.expired.sort()).toEqual([late, gone, other].sort());
      expect(await rides.acceptOffer(rideId, late!, deadline + 1)).toEqual({ kind: 'closed', answer: 'expired' });

      const rideId2 = await offered([gone!, other!]);
      await harness.query(`UPDATE drivers SET status = 'offline' WHERE id = $1`, [gone]);
      const result = await rides.acceptOffer(rideId2, gone!, Date.now());
      expect(result).toMatchObject({ kind: 'unavailable', wave: 1, openInWave: 1 });
      expect((await rides.getRide(rideId2))!.status).toBe('requested');
      expect(await rides.acceptOffer(rideId2, 999_999, Date.now())).toEqual({ kind: 'not_offered' });
    });

    it('accepts an answer that arrived before the deadline even if the wave ended first', async () => {
      const [slow] = await drivers(1);
      const rideId = await offered([slow!]);
      const receivedAtMs = Date.now();
      await rides.endWave(rideId, 1, Date.now());
      const result = await rides.acceptOffer(rideId, slow!, receivedAtMs);
      expect(result.kind).toBe('assigned');
    });

    it('counts what is left of a wave after a decline', async () => {
      const ids = await drivers(2);
      const rideId = await offered(ids);
      expect(await rides.declineOffer(rideId, ids[0]!, Date.now())).toMatchObject({ kind: 'declined', wave: 1, openInWave: 1 });
      expect(await rides.declineOffer(rideId, ids[0]!, Date.now())).toEqual({ kind: 'closed', answer: 'declined' });
      expect(await rides.declineOffer(rideId, ids[1]!, Date.now())).toMatchObject({ kind: 'declined', openInWave: 0 });
      expect(await rides.markUnmatched(rideId, 2)).toBeNull();
      expect(await rides.markUnmatched(rideId, 1)).toMatchObject({ status: 'unmatched' });
    });

    it('walks the lifecycle with one conditional write per step and frees the driver at the end', async () => {
      const [driverId] = await drivers(1);
      const rideId = await offered([driverId!]);
      await rides.acceptOffer(rideId, driverId!, Date.now());
      const driver = { role: 'driver', driverId: driverId! } as const;
      const ride = (await rides.getRide(rideId))!;
      const rider = { role: 'rider', riderId: ride.riderId } as const;

      const illegal = await rides.transition(rideId, driver, 'completed', null);
      expect(illegal.kind === 'illegal' && illegal.ride.status).toBe('assigned');
      expect(await rides.transition(rideId, { role: 'driver', driverId: driverId! + 1 }, 'arrived', null)).toEqual({ kind: 'not_found' });
      expect(await rides.transition('00000000-0000-4000-8000-000000000000', rider, 'cancelled', null)).toEqual({ kind: 'not_found' });
      for (const step of ['arrived', 'started', 'completed'] as const) {
        const result = await rides.transition(rideId, driver, step, null);
        expect(result.kind === 'done' && result.ride.status).toBe(step);
      }
      // A started ride cannot be cancelled, and nothing moves a completed one.
      const done = (await rides.getRide(rideId))!;
      expect(done.completedAt).not.toBeNull();
      expect(done.statusAtMs).toBe(Date.parse(done.completedAt!));
      expect((await rides.transition(rideId, rider, 'cancelled', null)).kind).toBe('illegal');
      expect(await statusOf(driverId!)).toBe('online');
      const [row] = await harness.query('SELECT total_rides FROM drivers WHERE id = $1', [driverId]);
      expect(row!.total_rides).toBe(1);
    });

    it('cancels at each stage: open offers are withdrawn, an assigned driver is freed', async () => {
      const ids = await drivers(2);
      const rideId = await offered(ids);
      const ride = (await rides.getRide(rideId))!;
      const cancelled = await rides.transition(rideId, { role: 'rider', riderId: ride.riderId }, 'cancelled', 'too slow');
      expect(cancelled.kind === 'done' && cancelled.withdrawn.sort()).toEqual([...ids].sort());
      expect(cancelled.kind === 'done' && cancelled.ride).toMatchObject({ status: 'cancelled', cancelledBy: 'rider', cancelReason: 'too slow' });

      const assignedRide = await offered(ids);
      await rides.acceptOffer(assignedRide, ids[0]!, Date.now());
      const byDriver = await rides.transition(assignedRide, { role: 'driver', driverId: ids[0]! }, 'cancelled', 'flat tyre');
      expect(byDriver.kind === 'done' && byDriver.ride.cancelledBy).toBe('driver');
      expect(await statusOf(ids[0]!)).toBe('online');
    });

    it('keeps a busy driver busy whatever status frames say', async () => {
      const [driverId] = await drivers(1);
      const rideId = await offered([driverId!]);
      await rides.acceptOffer(rideId, driverId!, Date.now());
      const committed = await harness.store.writeBatch({
        driverIds: [driverId!],
        seqs: [1],
        lats: [PICKUP.lat],
        lngs: [PICKUP.lng],
        recordedAtMs: [Date.now()],
        receivedAtMs: [Date.now()],
        statusDriverIds: [driverId!],
        statuses: ['online'],
      });
      expect(committed[0]!.status).toBe('busy');
      expect(await statusOf(driverId!)).toBe('busy');
    });

    it('shows each party its open rides and a driver its open offer', async () => {
      const [driverId, other] = await drivers(2);
      const rideId = await offered([driverId!, other!]);
      const open = await rides.openOffer(other!);
      expect(open?.offer).toMatchObject({ rideId, driverId: other, wave: 1, answer: null });
      await rides.acceptOffer(rideId, driverId!, Date.now());
      expect(await rides.openOffer(other!)).toBeNull();
      const ride = (await rides.getRide(rideId))!;
      const [riderView] = await rides.openRides({ role: 'rider', riderId: ride.riderId });
      expect(riderView?.driver).toMatchObject({ id: driverId, name: 'Driver 0' });
      expect((await rides.openRides({ role: 'driver', driverId: driverId! }))[0]?.ride.id).toBe(rideId);
      const withOffers = await rides.getRideWithOffers(rideId);
      expect(withOffers?.offers.map((offer) => offer.answer).sort()).toEqual(['accepted', 'taken']);
    });
  });
}
