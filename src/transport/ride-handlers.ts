import type { Logger } from '../logger.ts';
import { errorFrame, HubError } from '../protocol/errors.ts';
import type { DriverMessage, RiderMessage } from '../protocol/messages.ts';
import type { HubServices } from './ports.ts';
import type { HandlerTable } from './routing.ts';
import { sendCorked, type DriverSocket, type RiderSocket } from './socket-data.ts';

type RideRiderMessages = Extract<RiderMessage, { t: 'ride.request' | 'ride.cancel' }>;
type RideDriverMessages = Extract<DriverMessage, { t: `offer.${string}` | `ride.${string}` }>;

export interface RideHandlers {
  driver: HandlerTable<RideDriverMessages, DriverSocket>;
  rider: HandlerTable<RideRiderMessages, RiderSocket>;
}

/**
 * The ride messages of both roles. Each calls dispatch and answers only what
 * the call itself returns (`ride.requested`) or a typed error; everything
 * else reaches the parties as dispatch's pushes. Replies go out corked: they
 * are sent after the database answered, outside the uWS callback.
 */
export function rideHandlers(services: HubServices, logger: Logger): RideHandlers {
  /**
   * Each socket's ride actions take effect in the order it sent them (a
   * driver's `ride.arrived` then `ride.started` must not race): an action
   * starts when the one before it on the same socket has settled.
   */
  const queues = new WeakMap<RiderSocket | DriverSocket, Promise<void>>();

  function settle(ws: RiderSocket | DriverSocket, action: () => Promise<unknown>, refs: { rideId?: string; id?: string | number }): void {
    const run = async (): Promise<void> => {
      try {
        await action();
      } catch (error) {
        const known = error instanceof HubError ? error : new HubError('unavailable', 'rides are unavailable right now; try again shortly');
        if (known !== error) logger.error({ err: error, ...refs }, 'ride action failed');
        known.rideId ??= refs.rideId;
        known.requestId ??= refs.id;
        services.record({ type: 'frame.refused', code: known.code });
        sendCorked(ws, errorFrame(known));
      }
    };
    const queued = (queues.get(ws) ?? Promise.resolve()).then(run);
    queues.set(ws, queued);
  }

  const driver: HandlerTable<RideDriverMessages, DriverSocket> = {
    'offer.accept': (ws, message, receivedAtMs) => settle(ws, () => services.dispatch.accept(ws.getUserData().driverId, message.rideId, receivedAtMs), message),
    'offer.decline': (ws, message, receivedAtMs) =>
      settle(ws, () => services.dispatch.decline(ws.getUserData().driverId, message.rideId, receivedAtMs), message),
    'ride.arrived': (ws, message) => settle(ws, () => services.dispatch.transition(asDriver(ws), message.rideId, 'arrived'), message),
    'ride.started': (ws, message) => settle(ws, () => services.dispatch.transition(asDriver(ws), message.rideId, 'started'), message),
    'ride.completed': (ws, message) => settle(ws, () => services.dispatch.transition(asDriver(ws), message.rideId, 'completed'), message),
    'ride.cancel': (ws, message) => settle(ws, () => services.dispatch.transition(asDriver(ws), message.rideId, 'cancelled', message.reason ?? null), message),
  };

  const rider: HandlerTable<RideRiderMessages, RiderSocket> = {
    'ride.request': (ws, message) =>
      settle(ws, () => services.dispatch.request(ws.getUserData().riderId, message).then((reply) => sendCorked(ws, reply)), message),
    'ride.cancel': (ws, message) =>
      settle(
        ws,
        () => services.dispatch.transition({ role: 'rider', riderId: ws.getUserData().riderId }, message.rideId, 'cancelled', message.reason ?? null),
        message,
      ),
  };

  return { driver, rider };
}

function asDriver(ws: DriverSocket) {
  return { role: 'driver', driverId: ws.getUserData().driverId } as const;
}
