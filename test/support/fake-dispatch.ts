import { haversineKm } from '../../src/domain/geo.ts';
import { freesDriver, isOpenRideStatus, transitionSources, type OfferAnswer, type RideActor } from '../../src/domain/ride.ts';
import type { Delivery } from '../../src/bus/types.ts';
import type { CandidateFinder, CandidateQuery, DispatchCandidate, DispatchObserver } from '../../src/dispatch/ports.ts';
import type { WaveTimers } from '../../src/dispatch/wave-timers.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import type { AcceptResult, OfferRecord, RideDriver, RideRecord, RideStore, WaveProgress } from '../../src/store/ride-store.ts';

/**
 * Fakes of dispatch's own interfaces, for unit tests of the service's
 * sequencing. The ride store keeps the same conditional-write contract as
 * the SQL one (test/ride-store.test.ts checks that one against PostgreSQL),
 * in memory and one call at a time.
 */

export interface FakeDriver {
  id: number;
  lat: number;
  lng: number;
  status: 'online' | 'offline' | 'busy';
}

const iso = (ms: number) => new Date(ms).toISOString();

export class FakeClock {
  constructor(public ms = Date.UTC(2030, 0, 1)) {}
  now = (): number => this.ms;
}

export class FakeRideStore implements RideStore {
  readonly rides = new Map<string, RideRecord>();
  readonly offers: OfferRecord[] = [];
  private nextId = 1;

  constructor(
    readonly drivers: Map<number, FakeDriver>,
    private readonly clock: FakeClock,
  ) {}

  private stamp(): string {
    return iso(this.clock.ms);
  }

  private offer(rideId: string, driverId: number): OfferRecord | undefined {
    return this.offers.find((offer) => offer.rideId === rideId && offer.driverId === driverId);
  }

  private progress(ride: RideRecord, wave: number): WaveProgress {
    const openInWave = this.offers.filter((offer) => offer.rideId === ride.id && offer.wave === wave && offer.answer === null).length;
    return { ride: { ...ride }, wave, openInWave };
  }

  private driverOf(id: number): RideDriver {
    const driver = this.drivers.get(id)!;
    return { id, name: `Driver ${id}`, vehicleType: 'economy', rating: 4.8, lat: driver.lat, lng: driver.lng };
  }

  private closeOpen(rideId: string, answer: OfferAnswer): number[] {
    const closed: number[] = [];
    for (const offer of this.offers) {
      if (offer.rideId === rideId && offer.answer === null) {
        offer.answer = answer;
        offer.answeredAt = this.stamp();
        closed.push(offer.driverId);
      }
    }
    return closed;
  }

  async createRide(request: Parameters<RideStore['createRide']>[0]) {
    const open = [...this.rides.values()].find((ride) => ride.riderId === request.riderId && isOpenRideStatus(ride.status));
    if (open) return { created: false as const, openRideId: open.id };
    const id = `00000000-0000-4000-8000-${String(this.nextId++).padStart(12, '0')}`;
    const ride: RideRecord = {
      id,
      riderId: request.riderId,
      driverId: null,
      status: 'requested',
      pickup: request.pickup,
      dropoff: request.dropoff,
      vehicleType: request.vehicleType,
      wave: 0,
      waveDeadlineMs: this.clock.ms,
      requestedAt: this.stamp(),
      assignedAt: null,
      arrivedAt: null,
      startedAt: null,
      completedAt: null,
      cancelledAt: null,
      unmatchedAt: null,
      cancelledBy: null,
      cancelReason: null,
      statusAtMs: this.clock.ms,
    };
    this.rides.set(id, ride);
    return { created: true as const, ride: { ...ride } };
  }

  async openWave(rideId: string, wave: number, candidates: Array<{ driverId: number; distanceKm: number }>, want: number, expiresAtMs: number) {
    const ride = this.rides.get(rideId);
    if (!ride || ride.status !== 'requested' || ride.wave !== wave - 1) return { opened: false as const, ride: ride ? { ...ride } : null };
    ride.wave = wave;
    ride.waveDeadlineMs = expiresAtMs;
    const made: OfferRecord[] = [];
    for (const candidate of candidates) {
      if (made.length >= want) break;
      if (this.drivers.get(candidate.driverId)?.status !== 'online') continue;
      if (this.offer(rideId, candidate.driverId)) continue;
      if (this.offers.some((offer) => offer.driverId === candidate.driverId && offer.answer === null)) continue;
      const offer: OfferRecord = {
        rideId,
        driverId: candidate.driverId,
        wave,
        distanceKm: candidate.distanceKm,
        sentAt: this.stamp(),
        expiresAt: iso(expiresAtMs),
        answer: null,
        answeredAt: null,
      };
      this.offers.push(offer);
      made.push({ ...offer });
    }
    return { opened: true as const, ride: { ...ride }, offers: made };
  }

  async acceptOffer(rideId: string, driverId: number, atMs: number): Promise<AcceptResult> {
    const ride = this.rides.get(rideId);
    const offer = this.offer(rideId, driverId);
    if (!ride || !offer) return { kind: 'not_offered' };
    if (ride.status !== 'requested') {
      if (offer.answer === 'taken') offer.answer = 'lost';
      return { kind: 'closed', answer: offer.answer === 'lost' ? 'taken' : (offer.answer ?? 'expired') };
    }
    const inTime = offer.answer === null || (offer.answer === 'expired' && Date.parse(offer.expiresAt) >= atMs);
    if (!inTime) return { kind: 'closed', answer: offer.answer! };
    const driver = this.drivers.get(driverId)!;
    if (driver.status !== 'online') {
      if (offer.answer !== null) return { kind: 'closed', answer: offer.answer };
      offer.answer = 'declined';
      return { kind: 'unavailable', ...this.progress(ride, offer.wave) };
    }
    offer.answer = 'accepted';
    offer.answeredAt = iso(atMs);
    driver.status = 'busy';
    Object.assign(ride, { status: 'assigned', driverId, assignedAt: this.stamp(), statusAtMs: this.clock.ms, waveDeadlineMs: null });
    return { kind: 'assigned', ride: { ...ride }, driver: this.driverOf(driverId), withdrawn: this.closeOpen(rideId, 'taken') };
  }

  async declineOffer(rideId: string, driverId: number) {
    const ride = this.rides.get(rideId);
    const offer = this.offer(rideId, driverId);
    if (!ride || !offer) return { kind: 'not_offered' as const };
    if (offer.answer !== null) return { kind: 'closed' as const, answer: offer.answer };
    offer.answer = 'declined';
    offer.answeredAt = this.stamp();
    return { kind: 'declined' as const, ...this.progress(ride, offer.wave) };
  }

  async endWave(rideId: string, wave: number) {
    const expired: number[] = [];
    for (const offer of this.offers) {
      if (offer.rideId === rideId && offer.wave === wave && offer.answer === null) {
        offer.answer = 'expired';
        offer.answeredAt = this.stamp();
        expired.push(offer.driverId);
      }
    }
    const ride = this.rides.get(rideId);
    return { ride: ride ? { ...ride } : null, expired };
  }

  async markUnmatched(rideId: string, wave: number) {
    const ride = this.rides.get(rideId);
    if (!ride || ride.status !== 'requested' || ride.wave !== wave) return null;
    Object.assign(ride, { status: 'unmatched', unmatchedAt: this.stamp(), statusAtMs: this.clock.ms, waveDeadlineMs: null });
    this.closeOpen(rideId, 'expired');
    return { ...ride };
  }

  async transition(rideId: string, actor: RideActor, to: 'arrived' | 'started' | 'completed' | 'cancelled', reason: string | null) {
    const ride = this.rides.get(rideId);
    const party = ride && (actor.role === 'rider' ? ride.riderId === actor.riderId : ride.driverId === actor.driverId);
    if (!ride || !party) return { kind: 'not_found' as const };
    if (!transitionSources(to).includes(ride.status)) return { kind: 'illegal' as const, ride: { ...ride } };
    Object.assign(ride, { status: to, [`${to}At`]: this.stamp(), statusAtMs: this.clock.ms, waveDeadlineMs: null });
    if (to === 'cancelled') Object.assign(ride, { cancelledBy: actor.role, cancelReason: reason });
    const withdrawn = to === 'cancelled' ? this.closeOpen(rideId, 'cancelled') : [];
    if (freesDriver(to) && ride.driverId !== null) this.drivers.get(ride.driverId)!.status = 'online';
    return { kind: 'done' as const, ride: { ...ride }, withdrawn };
  }

  async getRide(rideId: string) {
    const ride = this.rides.get(rideId);
    return ride ? { ...ride } : null;
  }

  async getRideWithOffers(rideId: string) {
    const ride = this.rides.get(rideId);
    return ride ? { ride: { ...ride }, offers: this.offers.filter((offer) => offer.rideId === rideId) } : null;
  }

  async openRides(actor: RideActor) {
    return [...this.rides.values()]
      .filter((ride) => isOpenRideStatus(ride.status) && (actor.role === 'rider' ? ride.riderId === actor.riderId : ride.driverId === actor.driverId))
      .map((ride) => ({ ride: { ...ride }, driver: ride.driverId === null ? null : this.driverOf(ride.driverId) }));
  }

  async overdueRides(beforeMs: number, limit: number) {
    return [...this.rides.values()]
      .filter((ride) => ride.status === 'requested' && ride.waveDeadlineMs !== null && ride.waveDeadlineMs < beforeMs)
      .sort((a, b) => a.waveDeadlineMs! - b.waveDeadlineMs!)
      .slice(0, limit)
      .map((ride) => ({ ...ride }));
  }

  async openOffer(driverId: number) {
    const offer = this.offers.find((candidate) => candidate.driverId === driverId && candidate.answer === null);
    return offer ? { offer: { ...offer }, ride: { ...this.rides.get(offer.rideId)! } } : null;
  }
}

/** Online drivers within the radius, nearest first, from a fixed fleet. */
export class FakeCandidates implements CandidateFinder {
  readonly queries: CandidateQuery[] = [];

  constructor(private readonly drivers: Map<number, FakeDriver>) {}

  async nearest(query: CandidateQuery): Promise<DispatchCandidate[]> {
    this.queries.push(query);
    return [...this.drivers.values()]
      .filter((driver) => driver.status === 'online')
      .map((driver) => ({ id: driver.id, distanceKm: haversineKm(driver.lat, driver.lng, query.lat, query.lng) }))
      .filter((candidate) => candidate.distanceKm <= query.radiusKm)
      .sort((a, b) => a.distanceKm - b.distanceKm || a.id - b.id)
      .slice(0, query.limit);
  }
}

export type Sent = { to: `driver:${number}` | `rider:${string}`; message: ServerMessage };

export class RecordingDelivery implements Delivery {
  readonly sent: Sent[] = [];

  toDriver(driverId: number, message: ServerMessage): boolean {
    this.sent.push({ to: `driver:${driverId}`, message });
    return true;
  }

  toRider(riderId: string, message: ServerMessage): boolean {
    this.sent.push({ to: `rider:${riderId}`, message });
    return true;
  }

  /** Messages to one party, optionally of one type. */
  to(party: Sent['to'], type?: ServerMessage['t']): ServerMessage[] {
    return this.sent.filter((entry) => entry.to === party && (type === undefined || entry.message.t === type)).map((entry) => entry.message);
  }

  ofType(type: ServerMessage['t']): Sent[] {
    return this.sent.filter((entry) => entry.message.t === type);
  }
}

export class RecordingObserver implements DispatchObserver {
  readonly statuses: Array<[number, 'busy' | 'online']> = [];
  readonly reached: string[] = [];
  offers = 0;

  driverStatusChanged(driverId: number, status: 'busy' | 'online'): void {
    this.statuses.push([driverId, status]);
  }

  rideReached(status: string): void {
    this.reached.push(status);
  }

  offersSent(count: number): void {
    this.offers += count;
  }
}

/** Timers driven by the test: nothing runs until the test moves the clock. */
export class ManualTimers implements WaveTimers {
  private readonly due = new Map<string, { atMs: number; step: () => Promise<void> }>();

  constructor(private readonly clock: FakeClock) {}

  set(rideId: string, atMs: number, step: () => Promise<void>): void {
    this.due.set(rideId, { atMs, step });
  }

  clear(rideId: string): void {
    this.due.delete(rideId);
  }

  get size(): number {
    return this.due.size;
  }

  deadlineOf(rideId: string): number | undefined {
    return this.due.get(rideId)?.atMs;
  }

  stop(): void {
    this.due.clear();
  }

  /** Moves the clock to `ms`, running every step due by then in time order (steps may set new timers). */
  async advanceTo(ms: number): Promise<void> {
    for (;;) {
      const next = [...this.due.entries()].filter(([, entry]) => entry.atMs <= ms).sort((a, b) => a[1].atMs - b[1].atMs)[0];
      if (!next) break;
      const [rideId, entry] = next;
      this.due.delete(rideId);
      this.clock.ms = Math.max(this.clock.ms, entry.atMs);
      await entry.step();
    }
    this.clock.ms = Math.max(this.clock.ms, ms);
  }

  /** Runs what is due now. */
  runDue(): Promise<void> {
    return this.advanceTo(this.clock.ms);
  }
}
