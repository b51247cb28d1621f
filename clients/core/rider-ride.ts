import type { LatLng } from '../../src/domain/geo.ts';
import type { RideStatus } from '../../src/domain/ride.ts';
import type { RideDriverInfo, RideRequest, ServerMessage } from '../../src/protocol/messages.ts';

/** Where one rider's ride stands, as the hub's messages have told it. */
export type RiderRideState =
  | { phase: 'idle' }
  /** Sent, not yet acknowledged with a ride id. */
  | { phase: 'asking'; requestId: string; pickup: LatLng; sentAt: number }
  | {
      phase: 'open';
      rideId: string;
      status: Extract<RideStatus, 'requested' | 'assigned' | 'arrived' | 'started'>;
      pickup: LatLng;
      /** Once assigned. */
      driver: RideDriverInfo | undefined;
      /** The assigned driver's latest position (from ride.assigned, then each ride.driver). */
      driverAt: LatLng | undefined;
      /** Km from the driver to the pickup when assigned; null before the driver's first fix. */
      etaKm: number | null | undefined;
      /** When the request was sent (local clock), undefined after a reconnect picked the ride up. */
      sentAt: number | undefined;
    }
  | { phase: 'ended'; rideId: string; outcome: 'completed' | 'cancelled' | 'unmatched'; by?: 'rider' | 'driver'; reason?: string }
  | { phase: 'refused'; code: string; message: string };

/**
 * The rider side of a ride, without a socket: builds `ride.request` and
 * `ride.cancel`, and folds the hub's ride messages into one state. Shared by
 * the map demo and anything else that follows a rider's ride; the socket
 * owner sends what it returns and passes every message to `handle`.
 */
export class RiderRide {
  private current: RiderRideState = { phase: 'idle' };
  private requestSeq = 0;

  constructor(private readonly requestPrefix = 'ride') {}

  get state(): RiderRideState {
    return this.current;
  }

  /** A ride is being asked for or is open: no second request until it ends. */
  get active(): boolean {
    return this.current.phase === 'asking' || this.current.phase === 'open';
  }

  /** The request to send, or undefined while a ride is active. */
  request(pickup: LatLng, dropoff?: LatLng, now = Date.now()): RideRequest | undefined {
    if (this.active) return undefined;
    const requestId = `${this.requestPrefix}-${++this.requestSeq}`;
    this.current = { phase: 'asking', requestId, pickup, sentAt: now };
    return { t: 'ride.request', id: requestId, pickup, ...(dropoff && { dropoff }) };
  }

  /** The cancel to send for the open ride, if there is one. */
  cancel(reason?: string): { t: 'ride.cancel'; rideId: string; reason?: string } | undefined {
    if (this.current.phase !== 'open') return undefined;
    return { t: 'ride.cancel', rideId: this.current.rideId, ...(reason && { reason }) };
  }

  /** Forgets an ended or refused ride, back to idle. */
  dismiss(): void {
    if (!this.active) this.current = { phase: 'idle' };
  }

  /** Folds one hub message in; true when the state changed. */
  handle(message: ServerMessage): boolean {
    const state = this.current;
    switch (message.t) {
      case 'ride.requested':
        if (state.phase !== 'asking' || state.requestId !== message.id) return false;
        this.current = {
          phase: 'open',
          rideId: message.rideId,
          status: 'requested',
          pickup: state.pickup,
          driver: undefined,
          driverAt: undefined,
          etaKm: undefined,
          sentAt: state.sentAt,
        };
        return true;
      case 'error':
        if (state.phase === 'asking' && message.id === state.requestId) {
          this.current = { phase: 'refused', code: message.code, message: message.message };
          return true;
        }
        return false;
      case 'ride.state': {
        // A (re)connect: the hub names the open ride, whatever this page knew.
        const status = message.status;
        if (status !== 'requested' && status !== 'assigned' && status !== 'arrived' && status !== 'started') return false;
        const known = state.phase === 'open' && state.rideId === message.rideId ? state : undefined;
        const driverAt =
          message.driver && message.driver.lat !== null && message.driver.lng !== null ? { lat: message.driver.lat, lng: message.driver.lng } : known?.driverAt;
        this.current = {
          phase: 'open',
          rideId: message.rideId,
          status,
          pickup: message.pickup,
          driver: message.driver ?? known?.driver,
          driverAt,
          etaKm: known?.etaKm,
          sentAt: known?.sentAt,
        };
        return true;
      }
      default:
        break;
    }
    if (state.phase !== 'open' || !('rideId' in message) || message.rideId !== state.rideId) return false;
    switch (message.t) {
      case 'ride.assigned':
        if (!('driver' in message)) return false;
        this.current = {
          ...state,
          status: 'assigned',
          driver: message.driver,
          driverAt: message.driver.lat !== null && message.driver.lng !== null ? { lat: message.driver.lat, lng: message.driver.lng } : undefined,
          etaKm: message.etaKm,
        };
        return true;
      case 'ride.driver':
        this.current = { ...state, driverAt: { lat: message.lat, lng: message.lng } };
        return true;
      case 'ride.unmatched':
        this.current = { phase: 'ended', rideId: state.rideId, outcome: 'unmatched' };
        return true;
      case 'ride.status':
        if (message.status === 'completed' || message.status === 'cancelled') {
          this.current = {
            phase: 'ended',
            rideId: state.rideId,
            outcome: message.status,
            ...(message.by && { by: message.by }),
            ...(message.reason && { reason: message.reason }),
          };
        } else if (message.status === 'arrived' || message.status === 'started') {
          this.current = { ...state, status: message.status };
        }
        return true;
      default:
        return false;
    }
  }
}
