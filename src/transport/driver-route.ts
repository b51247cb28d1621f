import { codecFor } from '../protocol/codec.ts';
import { errorFrame, HubError } from '../protocol/errors.ts';
import { parseDriverMessage } from '../protocol/parse.ts';
import { endReplaced, type ConnectionRegistry } from './connections.ts';
import { driverHandlers } from './driver-handlers.ts';
import { rideHandlers } from './ride-handlers.ts';
import { admitMessage } from './message-budget.ts';
import type { HubEvent, HubServices } from './ports.ts';
import { RateGuard } from './rate-guard.ts';
import type { RouteContext } from './route-context.ts';
import { receivedEvents, route } from './routing.ts';
import { encodingFromQuery, sendMessage, type DriverSocketData } from './socket-data.ts';
import { upgradeAsync } from './upgrade.ts';
import type { TemplatedApp } from './uws.ts';

const OPENED: HubEvent = { type: 'connection.opened', role: 'driver' };
const CLOSED: HubEvent = { type: 'connection.closed', role: 'driver' };

/** The driver socket: upgrade and identity, takeover, the rate limit, decoding, and the driver routing table. */
export function registerDriverRoute(app: TemplatedApp, services: HubServices, connections: ConnectionRegistry, context: RouteContext): void {
  const { limits, identities, caps, logger } = context;
  const handlers = driverHandlers(services, rideHandlers(services, logger).driver);
  const received = receivedEvents('driver', handlers);

  app.ws<DriverSocketData>('/ws/driver', {
    ...limits.uwsOptions,
    upgrade: (res, req, upgradeContext) =>
      upgradeAsync<DriverSocketData>(
        res,
        req,
        upgradeContext,
        logger,
        async ({ query, header }) => {
          const { identity, protocol, expiresAtMs, capKey } = await identities.resolveIdentity({
            role: 'driver',
            query,
            protocolHeader: header('sec-websocket-protocol'),
          });
          if (identity.role !== 'driver') throw new HubError('forbidden', 'not a driver identity');
          return caps.holding(capKey, async () => {
            const lastSeq = await services.ingest.resumePoint(identity.driverId);
            if (lastSeq === null) throw new HubError('not_found', `driver ${identity.driverId} does not exist`);
            const userData: DriverSocketData = {
              role: 'driver',
              driverId: identity.driverId,
              lastSeq,
              encoding: encodingFromQuery(query),
              closed: false,
              replaced: false,
              rate: new RateGuard(context.rate, Date.now()),
              expiresAtMs,
              capKey,
              slowSinceMs: 0,
            };
            return { userData, protocol, abandon: () => caps.release(capKey) };
          });
        },
        (code) => services.record({ type: 'upgrade.refused', code }),
        context.admissions,
      ),

    open: (ws) => {
      const data = ws.getUserData();
      // The new socket becomes current first, so the old one's close is not taken for the driver leaving.
      const previous = connections.setDriver(data.driverId, ws);
      if (previous) endReplaced(previous);
      services.ingest.registerDriver(data.driverId, data.lastSeq);
      services.record(OPENED);
      sendMessage(ws, { t: 'hello', driverId: data.driverId, lastSeq: data.lastSeq });
      connections.announce({ role: 'driver', driverId: data.driverId });
    },

    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      if (data.replaced) return;
      const codec = codecFor(isBinary ? 'msgpack' : 'json');
      const receivedAtMs = Date.now();
      // Decoded before the rate check, so a refused location's seq is known:
      // ingest must hold later seqs back until that one is resent.
      let frame;
      try {
        frame = parseDriverMessage(codec, new Uint8Array(message));
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        if (!admitMessage(ws, codec.encoding, services, error.seq)) return;
        services.record({ type: 'frame.refused', code: error.code });
        sendMessage(ws, errorFrame(error));
        return;
      }
      if (!admitMessage(ws, codec.encoding, services, frame.t === 'loc' ? frame.seq : undefined)) {
        if (frame.t === 'loc') services.ingest.refuseLocation(data.driverId, frame.seq);
        return;
      }
      data.encoding = codec.encoding;
      services.record(received.get(frame.t)!);
      route(handlers, ws, frame, receivedAtMs);
    },

    close: (ws) => {
      const data = ws.getUserData();
      data.closed = true;
      caps.release(data.capKey);
      services.record(CLOSED);
      if (connections.removeDriver(data.driverId, ws)) services.ingest.releaseDriver(data.driverId);
    },
  });
}
