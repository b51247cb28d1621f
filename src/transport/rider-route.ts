import { codecFor } from '../protocol/codec.ts';
import { errorFrame, HubError } from '../protocol/errors.ts';
import { parseRiderMessage } from '../protocol/parse.ts';
import type { ConnectionRegistry } from './connections.ts';
import { admitMessage } from './message-budget.ts';
import { nearbyHandler } from './nearby-handler.ts';
import type { HubEvent, HubServices } from './ports.ts';
import { RateGuard } from './rate-guard.ts';
import { riderHandlers } from './rider-handlers.ts';
import { rideHandlers } from './ride-handlers.ts';
import type { RouteContext } from './route-context.ts';
import { receivedEvents, route } from './routing.ts';
import { encodingFromQuery, sendMessage, type RiderSocketData } from './socket-data.ts';
import { subscriptionHandler } from './subscription-handler.ts';
import { upgradeAsync } from './upgrade.ts';
import type { TemplatedApp } from './uws.ts';

const OPENED: HubEvent = { type: 'connection.opened', role: 'rider' };
const CLOSED: HubEvent = { type: 'connection.closed', role: 'rider' };

/** The rider socket: upgrade and identity, the rate limit, decoding, and the rider routing table. */
export function registerRiderRoute(app: TemplatedApp, services: HubServices, connections: ConnectionRegistry, context: RouteContext): void {
  const { limits, identities, caps, logger } = context;
  const nearby = nearbyHandler(services, limits.maxBackpressureBytes, logger);
  const subscriptions = subscriptionHandler(services, limits.maxBackpressureBytes);
  const handlers = riderHandlers(nearby, subscriptions, rideHandlers(services, logger).rider);
  const received = receivedEvents('rider', handlers);

  app.ws<RiderSocketData>('/ws/rider', {
    ...limits.uwsOptions,
    upgrade: (res, req, upgradeContext) =>
      upgradeAsync<RiderSocketData>(
        res,
        req,
        upgradeContext,
        logger,
        async ({ query, header }) => {
          const { identity, protocol, expiresAtMs, capKey } = await identities.resolveIdentity({
            role: 'rider',
            query,
            protocolHeader: header('sec-websocket-protocol'),
          });
          if (identity.role !== 'rider') throw new HubError('forbidden', 'not a rider identity');
          caps.reserve(capKey);
          const userData: RiderSocketData = {
            role: 'rider',
            riderId: identity.riderId,
            encoding: encodingFromQuery(query),
            closed: false,
            rate: new RateGuard(context.rate, Date.now()),
            expiresAtMs,
            capKey,
            slowSinceMs: 0,
            deferred: undefined,
            subscriber: undefined,
          };
          return { userData, protocol, abandon: () => caps.release(capKey) };
        },
        (code) => services.record({ type: 'upgrade.refused', code }),
        context.admissions,
      ),

    open: (ws) => {
      const { riderId } = ws.getUserData();
      subscriptions.opened(ws);
      connections.addRider(riderId, ws);
      services.record(OPENED);
      connections.announce({ role: 'rider', riderId });
    },

    message: (ws, message, isBinary) => {
      const codec = codecFor(isBinary ? 'msgpack' : 'json');
      if (!admitMessage(ws, codec.encoding, services)) return;
      ws.getUserData().encoding = codec.encoding;
      let parsed;
      try {
        parsed = parseRiderMessage(codec, new Uint8Array(message));
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        services.record({ type: 'frame.refused', code: error.code });
        sendMessage(ws, errorFrame(error), codec.encoding);
        return;
      }
      services.record(received.get(parsed.t)!);
      route(handlers, ws, parsed, Date.now());
    },

    drain: (ws) => {
      nearby.drained(ws);
      subscriptions.drained(ws);
    },

    close: (ws) => {
      const data = ws.getUserData();
      data.closed = true;
      data.deferred = undefined;
      subscriptions.closed(ws);
      caps.release(data.capKey);
      connections.removeRider(data.riderId, ws);
      services.record(CLOSED);
    },
  });
}
