import { codecFor } from '../protocol/codec.ts';
import { errorFrame, HubError } from '../protocol/errors.ts';
import { parseDriverMessage } from '../protocol/parse.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { admitMessage } from './message-budget.ts';
import type { HubServices } from './ports.ts';
import { RateGuard } from './rate-guard.ts';
import type { RouteContext } from './route-context.ts';
import { encodingFromQuery, sendAck, sendMessage, type DriverSocket, type DriverSocketData } from './socket-data.ts';
import { upgradeAsync } from './upgrade.ts';
import type { TemplatedApp } from './uws.ts';

export interface DriverRoute {
  /** Sends an ack to the driver's live socket, if it has one. */
  ack(driverId: number, seq: number): void;
  readonly sockets: ReadonlyMap<number, DriverSocket>;
}

export function registerDriverRoute(app: TemplatedApp, services: HubServices, route: RouteContext): DriverRoute {
  const { limits, identities, caps, logger } = route;
  const sockets = new Map<number, DriverSocket>();

  app.ws<DriverSocketData>('/ws/driver', {
    ...limits.uwsOptions,
    upgrade: (res, req, context) =>
      upgradeAsync<DriverSocketData>(
        res,
        req,
        context,
        logger,
        async ({ query, header }) => {
          const { identity, protocol, expiresAtMs, capKey } = await identities.resolveIdentity({
            role: 'driver',
            query,
            protocolHeader: header('sec-websocket-protocol'),
          });
          if (identity.role !== 'driver') throw new HubError('forbidden', 'not a driver identity');
          return caps.holding(capKey, async () => {
            const lastSeq = await services.resumePoint(identity.driverId);
            if (lastSeq === null) throw new HubError('not_found', `driver ${identity.driverId} does not exist`);
            const userData: DriverSocketData = {
              role: 'driver',
              driverId: identity.driverId,
              lastSeq,
              encoding: encodingFromQuery(query),
              closed: false,
              replaced: false,
              rate: new RateGuard(route.rate, Date.now()),
              expiresAtMs,
              capKey,
              slowSinceMs: 0,
            };
            return { userData, protocol, abandon: () => caps.release(capKey) };
          });
        },
        (code) => services.onUpgradeRefused(code),
      ),

    open: (ws) => {
      const data = ws.getUserData();
      const previous = sockets.get(data.driverId);
      if (previous) {
        // Frames from the old socket must not interleave with the new one's.
        previous.getUserData().replaced = true;
        previous.end(CloseCode.REPLACED, 'replaced by a newer connection');
      }
      sockets.set(data.driverId, ws);
      services.registerDriver(data.driverId, data.lastSeq);
      services.onConnectionCountChange('driver', 1);
      sendMessage(ws, { t: 'hello', driverId: data.driverId, lastSeq: data.lastSeq });
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
        if (admitMessage(ws, codec.encoding, services, error instanceof HubError ? error.seq : undefined)) rejectFrame(ws, error);
        return;
      }
      if (!admitMessage(ws, codec.encoding, services, frame.t === 'loc' ? frame.seq : undefined)) {
        if (frame.t === 'loc') services.refuseLocation(data.driverId, frame.seq);
        return;
      }
      data.encoding = codec.encoding;
      services.onFrameReceived(frame.t);
      const outcome =
        frame.t === 'loc'
          ? services.acceptLocation(data.driverId, frame, receivedAtMs)
          : services.acceptStatus(data.driverId, frame.status, receivedAtMs);
      if (outcome === 'overloaded') {
        services.onFrameRefused('overloaded');
        const seq = frame.t === 'loc' ? { seq: frame.seq } : {};
        sendMessage(ws, { t: 'error', code: 'overloaded', message: 'hub is at its pending-frame bound; resend later', ...seq, retryAfterMs: 1000 });
      }
    },

    close: (ws) => {
      const data = ws.getUserData();
      data.closed = true;
      caps.release(data.capKey);
      services.onConnectionCountChange('driver', -1);
      if (sockets.get(data.driverId) === ws) {
        sockets.delete(data.driverId);
        services.releaseDriver(data.driverId);
      }
    },
  });

  function rejectFrame(ws: DriverSocket, error: unknown): void {
    if (!(error instanceof HubError)) throw error;
    services.onFrameRefused(error.code);
    sendMessage(ws, errorFrame(error));
  }

  return {
    sockets,
    ack(driverId, seq) {
      const ws = sockets.get(driverId);
      if (ws) sendAck(ws, seq);
    },
  };
}
