import { describe, expect, it } from 'vitest';
import { RiderRide } from '../clients/core/rider-ride.ts';
import { decodeServerMessage } from '../src/protocol/parse.ts';

/** The rider's ride core folds the hub's messages (validated by the protocol's own decoder) into one state. */
const hub = (message: object) => decodeServerMessage(JSON.stringify(message));
const PICKUP = { lat: 40.75, lng: -73.98 };
const RIDE = '0b3c4a43-6a8e-4a43-9a8e-0b3c4a436a8e';
const DRIVER = { id: 7, name: 'Ana Silva', vehicleType: 'economy', rating: 4.9, lat: 40.76, lng: -73.97 };

describe('rider ride core', () => {
  it('follows a ride from the request to its end, one ride at a time', () => {
    const ride = new RiderRide('r');
    const request = ride.request(PICKUP, undefined, 1000);
    expect(request).toEqual({ t: 'ride.request', id: 'r-1', pickup: PICKUP });
    expect(ride.request(PICKUP)).toBeUndefined();
    expect(ride.cancel()).toBeUndefined();

    expect(ride.handle(hub({ t: 'ride.requested', id: 'someone-else', rideId: RIDE }))).toBe(false);
    expect(ride.handle(hub({ t: 'ride.requested', id: 'r-1', rideId: RIDE }))).toBe(true);
    expect(ride.state).toMatchObject({ phase: 'open', status: 'requested', rideId: RIDE, sentAt: 1000 });
    expect(ride.cancel('late')).toEqual({ t: 'ride.cancel', rideId: RIDE, reason: 'late' });

    ride.handle(hub({ t: 'ride.assigned', rideId: RIDE, driver: DRIVER, etaKm: 1.2 }));
    expect(ride.state).toMatchObject({ status: 'assigned', driver: DRIVER, driverAt: { lat: 40.76, lng: -73.97 }, etaKm: 1.2 });
    ride.handle(hub({ t: 'ride.driver', rideId: RIDE, lat: 40.755, lng: -73.975, at: 5 }));
    expect(ride.state).toMatchObject({ driverAt: { lat: 40.755, lng: -73.975 } });
    for (const status of ['arrived', 'started'] as const) {
      ride.handle(hub({ t: 'ride.status', rideId: RIDE, status, at: 6 }));
      expect(ride.state).toMatchObject({ phase: 'open', status });
    }
    ride.handle(hub({ t: 'ride.status', rideId: RIDE, status: 'completed', at: 9 }));
    expect(ride.state).toEqual({ phase: 'ended', rideId: RIDE, outcome: 'completed' });
    expect(ride.active).toBe(false);
    ride.dismiss();
    expect(ride.request(PICKUP)?.id).toBe('r-2');
  });

  it('ends unmatched or refused, and picks an open ride up from ride.state after a reconnect', () => {
    const ride = new RiderRide();
    const sent = ride.request(PICKUP)!;
    ride.handle(hub({ t: 'error', code: 'ride_in_progress', message: 'already riding', id: sent.id }));
    expect(ride.state).toEqual({ phase: 'refused', code: 'ride_in_progress', message: 'already riding' });

    ride.handle(hub({ t: 'ride.state', rideId: RIDE, status: 'arrived', at: 3, pickup: PICKUP, driver: DRIVER }));
    expect(ride.state).toMatchObject({ phase: 'open', status: 'arrived', driver: DRIVER, driverAt: { lat: 40.76, lng: -73.97 } });
    ride.handle(hub({ t: 'ride.status', rideId: RIDE, status: 'cancelled', at: 4, by: 'driver', reason: 'flat tyre' }));
    expect(ride.state).toEqual({ phase: 'ended', rideId: RIDE, outcome: 'cancelled', by: 'driver', reason: 'flat tyre' });

    ride.dismiss();
    const again = ride.request(PICKUP)!;
    ride.handle(hub({ t: 'ride.requested', id: again.id, rideId: RIDE }));
    ride.handle(hub({ t: 'ride.unmatched', rideId: RIDE }));
    expect(ride.state).toEqual({ phase: 'ended', rideId: RIDE, outcome: 'unmatched' });
  });
});
