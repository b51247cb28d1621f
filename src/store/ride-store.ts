import type { VehicleType } from '../domain/driver.ts';
import type { LatLng } from '../domain/geo.ts';
import type { LifecycleStatus, OfferAnswer, RideActor, RideActorRole, RideStatus } from '../domain/ride.ts';

export interface RideRecord {
  id: string;
  riderId: string;
  driverId: number | null;
  status: RideStatus;
  pickup: LatLng;
  dropoff: LatLng | null;
  vehicleType: VehicleType | null;
  /** The dispatch wave whose offers are (or were last) out; 0 before the first. */
  wave: number;
  /** When the current wave's offers expire, while `requested`. */
  waveDeadlineMs: number | null;
  requestedAt: string;
  assignedAt: string | null;
  arrivedAt: string | null;
  startedAt: string | null;
  completedAt: string | null;
  cancelledAt: string | null;
  unmatchedAt: string | null;
  cancelledBy: RideActorRole | null;
  cancelReason: string | null;
  /** Epoch ms of the latest transition: the `at` of the ride's current status. */
  statusAtMs: number;
}

export interface OfferRecord {
  rideId: string;
  driverId: number;
  wave: number;
  distanceKm: number;
  sentAt: string;
  expiresAt: string;
  answer: OfferAnswer | null;
  answeredAt: string | null;
}

/** The assigned driver as the rider sees them. */
export interface RideDriver {
  id: number;
  name: string;
  vehicleType: VehicleType;
  rating: number;
  lat: number | null;
  lng: number | null;
}

export interface NewRide {
  riderId: string;
  pickup: LatLng;
  dropoff: LatLng | null;
  vehicleType: VehicleType | null;
}

/** A driver to offer a ride to, nearest first. */
export interface OfferCandidate {
  driverId: number;
  distanceKm: number;
}

export type CreateRideResult = { created: true; ride: RideRecord } | { created: false; openRideId: string };

/**
 * A wave opens only for the ride's next wave number while it is `requested`:
 * that conditional write decides which timer or hub process runs the wave.
 */
export type WaveResult = { opened: true; ride: RideRecord; offers: OfferRecord[] } | { opened: false; ride: RideRecord | null };

/** What is left of a wave after one of its offers ended. */
export interface WaveProgress {
  ride: RideRecord;
  wave: number;
  /** Offers of that wave still open. */
  openInWave: number;
}

export type AcceptResult =
  /** This accept won: the ride is assigned and the driver busy, in one transaction. */
  | { kind: 'assigned'; ride: RideRecord; driver: RideDriver; withdrawn: number[] }
  /** The offer had already ended (another accept won, it expired, the ride was cancelled). */
  | { kind: 'closed'; answer: OfferAnswer }
  /** The driver is not `online` (offline, or busy on another ride): the offer ends as declined. */
  | ({ kind: 'unavailable' } & WaveProgress)
  | { kind: 'not_offered' };

export type DeclineResult = ({ kind: 'declined' } & WaveProgress) | { kind: 'closed'; answer: OfferAnswer } | { kind: 'not_offered' };

export interface WaveEnd {
  ride: RideRecord | null;
  /** Drivers whose offers of that wave were still open and have now expired. */
  expired: number[];
}

export type TransitionResult =
  | { kind: 'done'; ride: RideRecord; withdrawn: number[] }
  /** No such ride, or not one this actor is part of. */
  | { kind: 'not_found' }
  /** The ride is in a status the transition may not leave; nothing changed. */
  | { kind: 'illegal'; ride: RideRecord };

/** An open ride as one of its parties sees it on reconnect. */
export interface RideView {
  ride: RideRecord;
  driver: RideDriver | null;
}

/**
 * Ride and offer writes. Every status change is one conditional write (an
 * UPDATE whose WHERE names the status it leaves), so concurrent callers on
 * any number of hub processes can only ever see one of them succeed; see
 * docs/dispatch.md.
 */
export interface RideStore {
  /** A new `requested` ride; refused while the rider has another open ride. */
  createRide(ride: NewRide): Promise<CreateRideResult>;
  /**
   * Opens wave `wave` (the ride's current wave + 1) and offers the ride to up
   * to `want` candidates, in the given order, that are online, hold no other
   * open offer and were never offered this ride.
   */
  openWave(rideId: string, wave: number, candidates: OfferCandidate[], want: number, expiresAtMs: number): Promise<WaveResult>;
  /** First accept wins: ride `requested`→`assigned` and driver `online`→`busy` in one transaction, or nothing. */
  acceptOffer(rideId: string, driverId: number, atMs: number): Promise<AcceptResult>;
  declineOffer(rideId: string, driverId: number, atMs: number): Promise<DeclineResult>;
  /** Expires the wave's offers that are still open. */
  endWave(rideId: string, wave: number, atMs: number): Promise<WaveEnd>;
  /** `requested`→`unmatched`, only while `wave` is still the ride's current wave. */
  markUnmatched(rideId: string, wave: number): Promise<RideRecord | null>;
  /**
   * One lifecycle transition by a party to the ride. Completing or cancelling
   * returns the driver to `online`; cancelling also withdraws open offers.
   */
  transition(rideId: string, actor: RideActor, to: LifecycleStatus, reason: string | null): Promise<TransitionResult>;
  getRide(rideId: string): Promise<RideRecord | null>;
  getRideWithOffers(rideId: string): Promise<{ ride: RideRecord; offers: OfferRecord[] } | null>;
  /** The actor's open rides (at most one each, by the database's unique indexes), with the assigned driver. */
  openRides(actor: RideActor): Promise<RideView[]>;
  /**
   * `requested` rides whose current wave (or first wave, when wave is 0) was
   * due before `beforeMs`: rides whose deadline timer died with its hub process.
   */
  overdueRides(beforeMs: number, limit: number): Promise<RideRecord[]>;
  /** The driver's one open offer, with its ride. */
  openOffer(driverId: number): Promise<{ offer: OfferRecord; ride: RideRecord } | null>;
}
