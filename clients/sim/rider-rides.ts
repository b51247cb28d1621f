import type { Rng } from '../../src/domain/random.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import type { SimStats } from './stats.ts';
import type { LatLng, StreetGrid } from './street-grid.ts';

type Outgoing = { t: 'ride.request'; id: string; pickup: LatLng; dropoff: LatLng };

export interface RiderRidesDeps {
  grid: StreetGrid;
  rng: Rng;
  stats: SimStats;
  /** Mean seconds between requests while the rider has no ride. */
  everyS: number;
  /** Sends a message to the hub; false when the socket is not open. */
  send(message: Outgoing): boolean;
}

/**
 * A simulated rider's rides: now and then (exponential gaps, mean `everyS`)
 * it asks for a ride from where it stands to somewhere else on the grid,
 * follows it to its end, and only then asks again.
 */
export class RiderRides {
  private timer: NodeJS.Timeout | undefined;
  private requestSeq = 0;
  /** The request in flight or the open ride: the rider asks for one ride at a time. */
  private current: { requestId: string; rideId?: string; sentAt: number } | undefined;
  private stopped = false;

  constructor(private readonly deps: RiderRidesDeps) {}

  start(): void {
    this.scheduleNext();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Handles a ride message; false when the message is not about rides. */
  handle(message: ServerMessage): boolean {
    const current = this.current;
    switch (message.t) {
      case 'ride.requested':
        if (current?.requestId === message.id) current.rideId = message.rideId;
        return true;
      case 'ride.assigned':
        if (current?.rideId === message.rideId) this.deps.stats.rideAssigned(performance.now() - current.sentAt);
        return true;
      case 'ride.unmatched':
        if (current?.rideId === message.rideId) {
          this.deps.stats.counters.ridesUnmatched += 1;
          this.finish();
        }
        return true;
      case 'ride.status':
        if (current?.rideId === message.rideId && (message.status === 'completed' || message.status === 'cancelled')) this.finish();
        return true;
      case 'ride.state':
        // A reconnect in the middle of a ride: keep following it.
        this.current ??= { requestId: '', sentAt: performance.now() };
        this.current.rideId = message.rideId;
        return true;
      case 'ride.driver':
        return true;
      case 'error':
        // The request itself was refused (a ride still open from before a restart, a hub without rides): try again later.
        if (current && message.id === current.requestId) this.finish();
        return message.id !== undefined && String(message.id).startsWith('ride-');
      default:
        return false;
    }
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const waitMs = -Math.log(1 - this.deps.rng.next()) * this.deps.everyS * 1000;
    this.timer = setTimeout(() => this.request(), waitMs);
  }

  private request(): void {
    const { grid, rng, stats } = this.deps;
    const requestId = `ride-${++this.requestSeq}`;
    const message: Outgoing = { t: 'ride.request', id: requestId, pickup: grid.randomPosition(rng), dropoff: grid.randomPosition(rng) };
    if (!this.deps.send(message)) {
      this.scheduleNext();
      return;
    }
    stats.counters.ridesRequested += 1;
    this.current = { requestId, sentAt: performance.now() };
  }

  private finish(): void {
    this.current = undefined;
    this.scheduleNext();
  }
}
