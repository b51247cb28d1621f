import type { Logger } from 'pino';
import { isApproachStatus, mayRequestTransition, waveRadiusKm, type LifecycleStatus, type RideActor } from '../domain/ride.ts';
import { HubError } from '../protocol/errors.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { RideRequest, RideRequestedMessage } from '../protocol/ride-messages.ts';
import type { RideRecord, RideStore } from '../store/ride-store.ts';
import type { Delivery } from '../bus/types.ts';
import type { CommittedPositions } from '../ingest/committed-positions.ts';
import { ApproachTracker } from './approach-tracker.ts';
import type { CandidateFinder, DispatchObserver, DispatchSettings } from './ports.ts';
import { assignedToDriver, assignedToRider, offerMessage, stateMessage, statusMessage } from './ride-views.ts';
import type { WaveTimers } from './wave-timers.ts';

export interface DispatchDeps {
  rides: RideStore;
  candidates: CandidateFinder;
  delivery: Delivery;
  timers: WaveTimers;
  observer: DispatchObserver;
  settings: DispatchSettings;
  logger: Logger;
  now?: () => number;
}

/**
 * Turns a ride request into exactly one assigned driver, and carries the
 * ride to its end. Offers go out in waves: the nearest `waveSize` online
 * drivers holding no other offer, for `offerTimeoutMs`, the radius doubling
 * each wave, `maxWaves` waves at most. A wave ends early when every offer in
 * it was declined, and a wave with nobody to offer to passes at once.
 *
 * Every decision that two parties (or two hub processes) could race on is a
 * conditional write in the store; this service only sequences them and tells
 * each party what happened. Each offer ends with exactly one message to its
 * driver: `ride.assigned` to the winner, `offer.cancelled` to everyone else.
 */
export class DispatchService {
  private readonly approaches = new ApproachTracker();
  /** Answers (accept, decline) received and not yet written, per ride: a wave's deadline waits for them. */
  private readonly answering = new Map<string, Set<Promise<unknown>>>();
  private readonly now: () => number;
  /**
   * Drivers committed as `offline` here since they were last seen otherwise:
   * each going offline is checked once for an open offer, not every batch
   * an offline driver still streams in.
   */
  private readonly offlineHere = new Set<number>();

  constructor(private readonly deps: DispatchDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Drivers whose positions are pushed to a rider right now. */
  get approachingCount(): number {
    return this.approaches.size;
  }

  async request(riderId: string, request: RideRequest): Promise<RideRequestedMessage> {
    const created = await this.deps.rides.createRide({
      riderId,
      pickup: request.pickup,
      dropoff: request.dropoff ?? null,
      vehicleType: request.vehicleType ?? null,
    });
    if (!created.created) {
      const error = new HubError('ride_in_progress', `rider already has an open ride ${created.openRideId}; cancel it or wait for it to end`);
      error.requestId = request.id;
      throw error;
    }
    const { ride } = created;
    this.deps.observer.rideReached('requested', 0);
    this.deps.timers.set(ride.id, this.now(), () => this.openWave(ride, 1));
    return { t: 'ride.requested', id: request.id, rideId: ride.id };
  }

  accept(driverId: number, rideId: string, atMs: number): Promise<void> {
    return this.answer(rideId, this.applyAccept(driverId, rideId, atMs));
  }

  decline(driverId: number, rideId: string, atMs: number): Promise<void> {
    return this.answer(rideId, this.applyDecline(driverId, rideId, atMs));
  }

  /** A lifecycle step asked for by a party to the ride; throws HubError `not_found`, `forbidden` or `illegal_transition`. */
  async transition(actor: RideActor, rideId: string, to: LifecycleStatus, reason: string | null = null): Promise<void> {
    if (!mayRequestTransition(actor.role, to)) throw rideError('forbidden', `a ${actor.role} cannot mark a ride ${to}`, rideId);
    const result = await this.deps.rides.transition(rideId, actor, to, reason);
    if (result.kind === 'not_found') throw rideError('not_found', `no ride ${rideId} of yours`, rideId);
    if (result.kind === 'illegal') {
      throw rideError('illegal_transition', `ride ${rideId} is ${result.ride.status}; it cannot become ${to}`, rideId);
    }
    const { ride, withdrawn } = result;
    const status = statusMessage(ride);
    this.deps.delivery.toRider(ride.riderId, status);
    if (ride.driverId !== null) {
      this.deps.delivery.toDriver(ride.driverId, status);
      if (isApproachStatus(ride.status)) this.approaches.track(ride.driverId, { rideId: ride.id, riderId: ride.riderId });
      else this.approaches.untrack(ride.driverId, ride.id);
      if (ride.status === 'completed' || ride.status === 'cancelled') this.deps.observer.driverStatusChanged(ride.driverId, 'online');
    }
    for (const offered of withdrawn) this.deps.delivery.toDriver(offered, { t: 'offer.cancelled', rideId: ride.id, reason: 'cancelled' });
    if (ride.status === 'cancelled') this.deps.timers.clear(ride.id);
    this.deps.observer.rideReached(ride.status, ride.statusAtMs - Date.parse(ride.requestedAt));
  }

  /** On (re)connect: each open ride's state, and a driver's open offer again. */
  async resume(actor: RideActor): Promise<void> {
    const views = await this.deps.rides.openRides(actor);
    for (const view of views) {
      if (actor.role === 'rider') {
        this.deps.delivery.toRider(actor.riderId, stateMessage(view, 'rider'));
      } else {
        this.deps.delivery.toDriver(actor.driverId, stateMessage(view, 'driver'));
        // The driver may have moved to this process: its positions are pushed from here now.
        if (isApproachStatus(view.ride.status)) this.approaches.track(actor.driverId, { rideId: view.ride.id, riderId: view.ride.riderId });
      }
    }
    if (actor.role === 'driver') {
      const open = await this.deps.rides.openOffer(actor.driverId);
      if (open) this.deps.delivery.toDriver(actor.driverId, offerMessage(open.ride, open.offer));
    }
  }

  /**
   * The driver's socket left this process: its positions are committed
   * wherever it connects next, which takes over pushing them (see resume).
   */
  driverLeft(driverId: number): void {
    this.approaches.forget(driverId);
  }

  /**
   * Another hub process changed a ride of a driver connected here (its
   * rider, connected there, cancelled it) and sent the driver the status:
   * this process, which commits the driver's positions, stops pushing them
   * to the rider once the approach is over.
   */
  statusRelayed(driverId: number, message: ServerMessage): void {
    if (message.t === 'ride.status' && !isApproachStatus(message.status)) this.approaches.untrack(driverId, message.rideId);
  }

  /** After each commit: pushes approaching drivers' positions to their riders. */
  positionsCommitted(committed: CommittedPositions): void {
    this.declineOffersOfDriversGoneOffline(committed);
    this.approaches.forEachApproach(committed, (approach, i) => {
      this.deps.delivery.toRider(approach.riderId, {
        t: 'ride.driver',
        rideId: approach.rideId,
        lat: committed.lats[i]!,
        lng: committed.lngs[i]!,
        at: committed.seenAtMs[i]!,
      });
    });
  }

  /**
   * A driver who goes offline will not answer: an open offer is declined at
   * once, so the ride's wave moves on now rather than at the offer's expiry.
   */
  private declineOffersOfDriversGoneOffline(committed: CommittedPositions): void {
    for (let i = 0; i < committed.ids.length; i++) {
      const driverId = committed.ids[i]!;
      if (committed.statuses[i] !== 'offline') {
        if (this.offlineHere.size > 0) this.offlineHere.delete(driverId);
        continue;
      }
      if (this.offlineHere.has(driverId)) continue;
      this.offlineHere.add(driverId);
      this.declineOpenOffer(driverId).catch((error: unknown) =>
        this.deps.logger.warn({ err: error, driverId }, 'open offer of a driver gone offline not declined; it expires instead'),
      );
    }
  }

  private async declineOpenOffer(driverId: number): Promise<void> {
    const open = await this.deps.rides.openOffer(driverId);
    if (!open) return;
    await this.decline(driverId, open.ride.id, this.now());
    this.deps.delivery.toDriver(driverId, { t: 'offer.cancelled', rideId: open.ride.id, reason: 'unavailable' });
  }

  rideWithOffers(rideId: string): ReturnType<RideStore['getRideWithOffers']> {
    return this.deps.rides.getRideWithOffers(rideId);
  }

  /**
   * Picks up `requested` rides whose wave deadline passed more than `graceMs`
   * ago without its timer running: their hub process died or stopped. Any
   * number of processes may sweep at once; each step is a conditional write,
   * so a ride advances once.
   */
  async sweepOverdue(graceMs: number, limit: number): Promise<number> {
    const overdue = await this.deps.rides.overdueRides(this.now() - graceMs, limit);
    for (const ride of overdue) {
      const step = ride.wave === 0 ? () => this.openWave(ride, 1) : () => this.waveExpired(ride, ride.wave);
      this.deps.timers.set(ride.id, this.now(), step);
    }
    return overdue.length;
  }

  stop(): void {
    this.deps.timers.stop();
  }

  // ---- waves ----

  /** Opens wave `wave` of the ride, or ends the ride unmatched when there are no waves left. */
  private async openWave(ride: RideRecord, wave: number): Promise<void> {
    const { settings, rides, candidates, delivery } = this.deps;
    if (wave > settings.maxWaves) return this.endUnmatched(ride, wave - 1);
    // Enough candidates to skip the drivers offered in earlier waves and some holding other rides' offers.
    const found = await candidates.nearest({
      lat: ride.pickup.lat,
      lng: ride.pickup.lng,
      radiusKm: waveRadiusKm(settings.firstRadiusKm, wave),
      limit: settings.waveSize * (wave + 2) + 10,
      ...(ride.vehicleType && { vehicleType: ride.vehicleType }),
    });
    const expiresAtMs = this.now() + settings.offerTimeoutMs;
    const result = await rides.openWave(
      ride.id,
      wave,
      found.map((candidate) => ({ driverId: candidate.id, distanceKm: candidate.distanceKm })),
      settings.waveSize,
      expiresAtMs,
    );
    // Another step (a decline, another process) already moved this ride on, or it ended.
    if (!result.opened) return;
    if (result.offers.length === 0) return this.openWave(result.ride, wave + 1);
    this.deps.timers.set(ride.id, expiresAtMs, () => this.waveExpired(result.ride, wave));
    for (const offer of result.offers) delivery.toDriver(offer.driverId, offerMessage(result.ride, offer));
    this.deps.observer.offersSent(result.offers.length);
  }

  private async waveExpired(ride: RideRecord, wave: number): Promise<void> {
    // An answer that arrived before the deadline is written before the wave ends.
    await this.answersSettled(ride.id);
    const ended = await this.deps.rides.endWave(ride.id, wave, this.now());
    for (const driverId of ended.expired) this.deps.delivery.toDriver(driverId, { t: 'offer.cancelled', rideId: ride.id, reason: 'expired' });
    if (ended.ride?.status === 'requested' && ended.ride.wave === wave) await this.openWave(ended.ride, wave + 1);
  }

  private async endUnmatched(ride: RideRecord, lastWave: number): Promise<void> {
    const unmatched = await this.deps.rides.markUnmatched(ride.id, lastWave);
    if (!unmatched) return;
    this.deps.timers.clear(ride.id);
    this.deps.delivery.toRider(unmatched.riderId, { t: 'ride.unmatched', rideId: unmatched.id });
    this.deps.observer.rideReached('unmatched', unmatched.statusAtMs - Date.parse(unmatched.requestedAt));
  }

  // ---- answers ----

  private answer(rideId: string, work: Promise<void>): Promise<void> {
    let pending = this.answering.get(rideId);
    if (!pending) this.answering.set(rideId, (pending = new Set()));
    pending.add(work);
    const done = (): void => {
      pending.delete(work);
      if (pending.size === 0 && this.answering.get(rideId) === pending) this.answering.delete(rideId);
    };
    work.then(done, done);
    return work;
  }

  private async answersSettled(rideId: string): Promise<void> {
    const pending = this.answering.get(rideId);
    if (pending) await Promise.allSettled([...pending]);
  }

  private async applyAccept(driverId: number, rideId: string, atMs: number): Promise<void> {
    const result = await this.deps.rides.acceptOffer(rideId, driverId, atMs);
    const { delivery } = this.deps;
    switch (result.kind) {
      case 'assigned': {
        const { ride, driver, withdrawn } = result;
        this.deps.timers.clear(ride.id);
        this.deps.observer.driverStatusChanged(driverId, 'busy');
        this.approaches.track(driverId, { rideId: ride.id, riderId: ride.riderId });
        delivery.toDriver(driverId, assignedToDriver(ride));
        for (const other of withdrawn) delivery.toDriver(other, { t: 'offer.cancelled', rideId: ride.id, reason: 'taken' });
        delivery.toRider(ride.riderId, assignedToRider(ride, driver));
        this.deps.observer.rideReached('assigned', ride.statusAtMs - Date.parse(ride.requestedAt));
        return;
      }
      case 'closed': {
        // Lost the race: the `taken` withdrawal sent when the ride was assigned
        // crossed this accept on the wire and is its answer. An offer that had
        // expired or been cancelled before the accept arrived is said so again.
        const reason = result.answer === 'expired' || result.answer === 'cancelled' ? result.answer : undefined;
        if (reason) delivery.toDriver(driverId, { t: 'offer.cancelled', rideId, reason });
        return;
      }
      case 'unavailable':
        delivery.toDriver(driverId, { t: 'offer.cancelled', rideId, reason: 'unavailable' });
        return this.afterOfferEnded(result.ride, result.wave, result.openInWave);
      case 'not_offered':
        throw rideError('not_found', `no offer of ride ${rideId} for driver ${driverId}`, rideId);
    }
  }

  private async applyDecline(driverId: number, rideId: string, atMs: number): Promise<void> {
    const result = await this.deps.rides.declineOffer(rideId, driverId, atMs);
    if (result.kind === 'not_offered') throw rideError('not_found', `no offer of ride ${rideId} for driver ${driverId}`, rideId);
    // A decline of an offer that already ended needs no answer: its end was already sent.
    if (result.kind === 'declined') this.afterOfferEnded(result.ride, result.wave, result.openInWave);
  }

  /**
   * The last open offer of the ride's current wave ended without an accept:
   * the next wave starts now, in place of the wave's deadline (and retried
   * like any timed step should the database fail).
   */
  private afterOfferEnded(ride: RideRecord, wave: number, openInWave: number): void {
    if (ride.status !== 'requested' || ride.wave !== wave || openInWave > 0) return;
    this.deps.timers.set(ride.id, this.now(), () => this.openWave(ride, wave + 1));
  }
}

function rideError(code: 'not_found' | 'forbidden' | 'illegal_transition', message: string, rideId: string): HubError {
  const error = new HubError(code, message);
  error.rideId = rideId;
  return error;
}
