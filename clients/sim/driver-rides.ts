import type { Rng } from '../../src/domain/random.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import type { Vehicle } from './movement.ts';
import type { SimStats } from './stats.ts';
import type { LatLng, StreetGrid } from './street-grid.ts';

/** How a simulated driver answers offers and runs the rides it wins. */
export interface DriverRideOptions {
  /** Chance of accepting an offer; the rest are declined. */
  acceptProbability: number;
  /** A person reads the offer and taps: uniformly this long, never past the offer's deadline. */
  answerDelayMs: readonly [number, number];
  /** Waiting at the pickup for the rider to get in. */
  boardingMs: readonly [number, number];
  /** How far (straight line) a ride asked for without a dropoff goes from its pickup. */
  tripWithoutDropoffM: readonly [number, number];
}

export const DEFAULT_DRIVER_RIDES: DriverRideOptions = {
  acceptProbability: 0.8,
  answerDelayMs: [1_500, 6_000],
  boardingMs: [5_000, 15_000],
  tripWithoutDropoffM: [1_000, 4_000],
};

/** Answers must reach the hub before the deadline: this much is kept for the network. */
const DEADLINE_MARGIN_MS = 500;

type Stage = 'to_pickup' | 'boarding' | 'to_dropoff';

interface Ride {
  rideId: string;
  stage: Stage;
  pickup: LatLng;
  dropoff: LatLng | undefined;
}

type Outgoing = { t: 'offer.accept' | 'offer.decline'; rideId: string } | { t: 'ride.arrived' | 'ride.started' | 'ride.completed'; rideId: string };

export interface DriverRidesDeps {
  vehicle: Vehicle;
  grid: StreetGrid;
  rng: Rng;
  stats: SimStats;
  /** Sends a message to the hub; false when the socket is not open. */
  send(message: Outgoing): boolean;
  options: DriverRideOptions;
}

/**
 * A simulated driver's side of dispatch: answers each offer after a
 * human-like pause (accepting with a set probability), drives to the pickup,
 * waits for the rider, drives to the dropoff and completes, then roams
 * again. On a reconnect the hub's `ride.state` and re-sent `offer` put it
 * back where it was; a step lost with the old socket is sent again.
 */
export class DriverRides {
  private ride: Ride | undefined;
  /** The offer being considered, and the timer that answers it. */
  private answering: { rideId: string; timer: NodeJS.Timeout } | undefined;
  private boardingTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DriverRidesDeps) {}

  /** On a ride: the driver does not log off. */
  get busy(): boolean {
    return this.ride !== undefined;
  }

  /** Handles a dispatch message; false when the message is not about rides. */
  handle(message: ServerMessage): boolean {
    switch (message.t) {
      case 'offer':
        this.consider(message.rideId, message.expiresAt);
        return true;
      case 'offer.cancelled':
        if (this.answering?.rideId === message.rideId) this.stopAnswering();
        return true;
      case 'ride.assigned':
        if ('rider' in message) this.begin(message.rideId, 'to_pickup', message.pickup, message.dropoff);
        return true;
      case 'ride.state':
        // A reconnect: pick the ride up at the stage the hub has it in.
        if (message.status === 'assigned') this.begin(message.rideId, 'to_pickup', message.pickup, message.dropoff);
        else if (message.status === 'arrived') this.begin(message.rideId, 'boarding', message.pickup, message.dropoff);
        else if (message.status === 'started') this.begin(message.rideId, 'to_dropoff', message.pickup, message.dropoff);
        return true;
      case 'ride.status':
        if (this.ride?.rideId === message.rideId && message.status === 'cancelled') {
          this.deps.stats.counters.ridesCancelled += 1;
          this.end();
        }
        return true;
      default:
        return false;
    }
  }

  /** Called every tick after the vehicle moved: reaching the pickup or the dropoff is the next step. */
  tick(): void {
    const ride = this.ride;
    if (!ride || !this.deps.vehicle.atTarget) return;
    if (ride.stage === 'to_pickup') {
      if (!this.deps.send({ t: 'ride.arrived', rideId: ride.rideId })) return;
      this.board(ride);
    } else if (ride.stage === 'to_dropoff') {
      if (!this.deps.send({ t: 'ride.completed', rideId: ride.rideId })) return;
      this.deps.stats.counters.ridesCompleted += 1;
      this.end();
    }
  }

  stop(): void {
    this.stopAnswering();
    clearTimeout(this.boardingTimer);
  }

  private consider(rideId: string, expiresAt: number): void {
    if (this.ride || this.answering?.rideId === rideId) return;
    this.stopAnswering();
    const { rng, options, stats } = this.deps;
    stats.counters.offersReceived += 1;
    const latestMs = expiresAt - Date.now() - DEADLINE_MARGIN_MS;
    const delayMs = Math.max(0, Math.min(latestMs, rng.range(options.answerDelayMs[0], options.answerDelayMs[1])));
    const timer = setTimeout(() => {
      this.answering = undefined;
      const accept = rng.chance(options.acceptProbability);
      if (this.deps.send({ t: accept ? 'offer.accept' : 'offer.decline', rideId })) {
        stats.counters[accept ? 'offersAccepted' : 'offersDeclined'] += 1;
      }
    }, delayMs);
    this.answering = { rideId, timer };
  }

  private stopAnswering(): void {
    if (!this.answering) return;
    clearTimeout(this.answering.timer);
    this.answering = undefined;
  }

  private begin(rideId: string, stage: Stage, pickup: LatLng, dropoff: LatLng | undefined): void {
    const resumed = this.ride?.rideId === rideId;
    if (!resumed) this.deps.stats.counters.ridesDriven += 1;
    this.stopAnswering();
    clearTimeout(this.boardingTimer);
    const ride: Ride = { rideId, stage, pickup, dropoff };
    this.ride = ride;
    if (stage === 'boarding') this.board(ride);
    else this.deps.vehicle.routeTo(stage === 'to_pickup' ? pickup : this.destination(ride));
  }

  private board(ride: Ride): void {
    ride.stage = 'boarding';
    const { rng, options } = this.deps;
    clearTimeout(this.boardingTimer);
    this.boardingTimer = setTimeout(
      () => {
        if (this.ride !== ride) return;
        // A lost socket: the hub's ride.state on reconnect brings the driver back here.
        if (!this.deps.send({ t: 'ride.started', rideId: ride.rideId })) return;
        ride.stage = 'to_dropoff';
        this.deps.vehicle.routeTo(this.destination(ride));
      },
      rng.range(options.boardingMs[0], options.boardingMs[1]),
    );
  }

  /** Where the trip goes: the dropoff, or (a ride without one) a trip of `tripWithoutDropoffM` from the pickup. */
  private destination(ride: Ride): LatLng {
    if (!ride.dropoff) {
      const { grid, rng } = this.deps;
      const from = grid.toLocal(ride.pickup);
      const [shortest, longest] = this.deps.options.tripWithoutDropoffM;
      const distanceM = rng.range(shortest, longest);
      const angle = rng.range(0, 2 * Math.PI);
      const { halfWidthM, halfHeightM } = grid.options;
      const clamp = (value: number, half: number) => Math.max(-half, Math.min(half, value));
      ride.dropoff = grid.toLatLng({ x: clamp(from.x + distanceM * Math.cos(angle), halfWidthM), y: clamp(from.y + distanceM * Math.sin(angle), halfHeightM) });
    }
    return ride.dropoff;
  }

  private end(): void {
    clearTimeout(this.boardingTimer);
    this.ride = undefined;
    this.deps.vehicle.routeTo(null);
  }
}
