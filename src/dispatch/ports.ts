import type { VehicleType } from '../domain/driver.ts';
import type { RideStatus } from '../domain/ride.ts';

export interface CandidateQuery {
  lat: number;
  lng: number;
  radiusKm: number;
  limit: number;
  vehicleType?: VehicleType;
}

export interface DispatchCandidate {
  id: number;
  /** Great-circle km from the driver's committed position to the pickup. */
  distanceKm: number;
}

/**
 * Drivers to offer a ride to, nearest first: online and fresh (the nearby
 * search leaves busy, offline and stale drivers out). The store re-checks
 * `online` when it writes the offer, so a stale answer costs nothing.
 */
export interface CandidateFinder {
  nearest(query: CandidateQuery): Promise<DispatchCandidate[]>;
}

/** What dispatch tells the rest of the hub: caches to update, metrics to count. */
export interface DispatchObserver {
  /** Dispatch moved a driver to `busy` (assigned) or back to `online` (ride ended). */
  driverStatusChanged(driverId: number, status: 'busy' | 'online'): void;
  /** A ride reached `status`; `sinceRequestMs` is how long after its request. */
  rideReached(status: RideStatus, sinceRequestMs: number): void;
  offersSent(count: number): void;
}

export interface DispatchSettings {
  /** Drivers offered the ride at once, per wave. */
  waveSize: number;
  /** How long each offer stays open; silence declines it. */
  offerTimeoutMs: number;
  maxWaves: number;
  /** The first wave's search radius; each later wave doubles it. */
  firstRadiusKm: number;
}
