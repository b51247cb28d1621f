import type { Logger } from '../logger.ts';
import { codecFor } from '../protocol/codec.ts';
import { HubError } from '../protocol/errors.ts';
import { parseRiderMessage } from '../protocol/parse.ts';
import { resolveIdentity } from './identity.ts';
import type { HubServices } from './ports.ts';
import { encodingFromQuery, sendCorked, sendMessage, type RiderSocket, type RiderSocketData } from './socket-data.ts';
import type { SocketLimits } from './socket-limits.ts';
import { upgradeAsync } from './upgrade.ts';
import type { TemplatedApp } from './uws.ts';

export interface RiderRoute {
  readonly sockets: ReadonlySet<RiderSocket>;
}

export function registerRiderRoute(app: TemplatedApp, services: HubServices, limits: SocketLimits, logger: Logger): RiderRoute {
  const sockets = new Set<RiderSocket>();

  app.ws<RiderSocketData>('/ws/rider', {
    ...limits.uwsOptions,
    upgrade: (res, req, context) =>
      upgradeAsync<RiderSocketData>(res, req, context, logger, async (query) => {
        const identity = await resolveIdentity({ role: 'rider', query });
        if (identity.role !== 'rider') throw new HubError('forbidden', 'not a rider identity');
        return { role: 'rider', riderId: identity.riderId, encoding: encodingFromQuery(query), closed: false };
      }),

    open: (ws) => {
      sockets.add(ws);
      services.onConnectionCountChange('rider', 1);
    },

    message: (ws, message, isBinary) => {
      const codec = codecFor(isBinary ? 'msgpack' : 'json');
      ws.getUserData().encoding = codec.encoding;
      let query;
      try {
        query = parseRiderMessage(codec, new Uint8Array(message));
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        services.onFrameRefused(error.code);
        sendMessage(ws, { t: 'error', code: error.code, message: error.message, ...(error.requestId !== undefined && { id: error.requestId }) }, codec.encoding);
        return;
      }
      const encoding = codec.encoding;
      services.findNearby(query).then(
        (answer) => {
          if (ws.getUserData().closed) return;
          ws.cork(() => sendMessage(ws, { t: 'nearby.result', id: query.id, ...answer }, encoding));
        },
        (error: unknown) => {
          logger.error({ err: error }, 'nearby query failed');
          sendCorked(ws, { t: 'error', code: 'unavailable', message: 'nearby search is unavailable right now', id: query.id });
        },
      );
    },

    close: (ws) => {
      ws.getUserData().closed = true;
      sockets.delete(ws);
      services.onConnectionCountChange('rider', -1);
    },
  });

  return { sockets };
}
