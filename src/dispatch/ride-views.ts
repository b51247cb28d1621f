import { haversineKm } from '../domain/geo.ts';
import type {
  OfferMessage,
  RideAssignedToDriver,
  RideAssignedToRider,
  RideDriverInfo,
  RideStateMessage,
  RideStatusMessage,
} from '../protocol/ride-messages.ts';
import type { OfferRecord, RideDriver, RideRecord, RideView } from '../store/ride-store.ts';

/** Metres are plenty for a distance a person reads. */
function km(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function placeFields(ride: RideRecord): Pick<OfferMessage, 'pickup' | 'dropoff' | 'vehicleType'> {
  return {
    pickup: ride.pickup,
    ...(ride.dropoff && { dropoff: ride.dropoff }),
    ...(ride.vehicleType && { vehicleType: ride.vehicleType }),
  };
}

export function offerMessage(ride: RideRecord, offer: Pick<OfferRecord, 'distanceKm' | 'expiresAt'>): OfferMessage {
  return { t: 'offer', rideId: ride.id, ...placeFields(ride), distanceKm: km(offer.distanceKm), expiresAt: Date.parse(offer.expiresAt) };
}

export function assignedToDriver(ride: RideRecord): RideAssignedToDriver {
  return { t: 'ride.assigned', rideId: ride.id, rider: ride.riderId, pickup: ride.pickup, ...(ride.dropoff && { dropoff: ride.dropoff }) };
}

export function driverInfo(driver: RideDriver): RideDriverInfo {
  return { id: driver.id, name: driver.name, vehicleType: driver.vehicleType, rating: driver.rating, lat: driver.lat, lng: driver.lng };
}

/** How far the driver is from the pickup now; null before its first position. */
export function etaKm(ride: RideRecord, driver: RideDriver): number | null {
  if (driver.lat === null || driver.lng === null) return null;
  return km(haversineKm(driver.lat, driver.lng, ride.pickup.lat, ride.pickup.lng));
}

export function assignedToRider(ride: RideRecord, driver: RideDriver): RideAssignedToRider {
  return { t: 'ride.assigned', rideId: ride.id, driver: driverInfo(driver), etaKm: etaKm(ride, driver) };
}

export function statusMessage(ride: RideRecord): RideStatusMessage {
  return {
    t: 'ride.status',
    rideId: ride.id,
    status: ride.status,
    at: ride.statusAtMs,
    ...(ride.status === 'cancelled' && ride.cancelledBy && { by: ride.cancelledBy }),
    ...(ride.status === 'cancelled' && ride.cancelReason && { reason: ride.cancelReason }),
  };
}

/** An open ride as one party sees it on (re)connect. */
export function stateMessage(view: RideView, audience: 'rider' | 'driver'): RideStateMessage {
  const { ride, driver } = view;
  return {
    t: 'ride.state',
    rideId: ride.id,
    status: ride.status,
    at: ride.statusAtMs,
    ...placeFields(ride),
    ...(audience === 'driver' && { rider: ride.riderId }),
    ...(audience === 'rider' && driver && { driver: driverInfo(driver) }),
  };
}
