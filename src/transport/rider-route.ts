import { codecFor, type Encoding } from '../protocol/codec.ts';
import { errorFrame, HubError } from '../protocol/errors.ts';
import type { NearbyQuery } from '../protocol/messages.ts';
import { parseRiderMessage } from '../protocol/parse.ts';
import { admitMessage } from './message-budget.ts';
import type { HubServices } from './ports.ts';
import { RateGuard } from './rate-guard.ts';
import type { RouteContext } from './route-context.ts';
import { encodingFromQuery, sendCorked, sendMessage, type RiderSocket, type RiderSocketData } from './socket-data.ts';
import { upgradeAsync } from './upgrade.ts';
import type { TemplatedApp } from './uws.ts';

export interface RiderRoute {
  readonly sockets: ReadonlySet<RiderSocket>;
}

/**
 * Answers nearby queries. The outbound buffer is bounded (maxBackpressure):
 * while a rider's buffer is over it, its queries are coalesced, only the
 * newest one kept, and that one is answered when the buffer drains. So a
 * rider that stops reading costs one remembered query, never a growing queue;
 * the sweeper closes it if it stays that way.
 */
export function registerRiderRoute(app: TemplatedApp, services: HubServices, route: RouteContext): RiderRoute {
  const { limits, identities, caps, logger } = route;
  const bound = limits.maxBackpressureBytes;
  const sockets = new Set<RiderSocket>();

  app.ws<RiderSocketData>('/ws/rider', {
    ...limits.uwsOptions,
    upgrade: (res, req, context) =>
      upgradeAsync<RiderSocketData>(
        res,
        req,
        context,
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
            rate: new RateGuard(route.rate, Date.now()),
            expiresAtMs,
            capKey,
            slowSinceMs: 0,
            deferred: undefined,
          };
          return { userData, protocol, abandon: () => caps.release(capKey) };
        },
        (code) => services.onUpgradeRefused(code),
      ),

    open: (ws) => {
      sockets.add(ws);
      services.onConnectionCountChange('rider', 1);
    },

    message: (ws, message, isBinary) => {
      const codec = codecFor(isBinary ? 'msgpack' : 'json');
      if (!admitMessage(ws, codec.encoding, services)) return;
      ws.getUserData().encoding = codec.encoding;
      let query;
      try {
        query = parseRiderMessage(codec, new Uint8Array(message));
      } catch (error) {
        if (!(error instanceof HubError)) throw error;
        services.onFrameRefused(error.code);
        sendMessage(ws, errorFrame(error), codec.encoding);
        return;
      }
      if (ws.getBufferedAmount() >= bound) defer(ws, query, codec.encoding, 'replace');
      else answer(ws, query, codec.encoding);
    },

    drain: (ws) => {
      if (ws.getBufferedAmount() >= bound) return;
      const data = ws.getUserData();
      data.slowSinceMs = 0;
      const deferred = data.deferred;
      if (!deferred) return;
      data.deferred = undefined;
      answer(ws, deferred.query, deferred.encoding);
    },

    close: (ws) => {
      const data = ws.getUserData();
      data.closed = true;
      data.deferred = undefined;
      caps.release(data.capKey);
      sockets.delete(ws);
      services.onConnectionCountChange('rider', -1);
    },
  });

  function answer(ws: RiderSocket, query: NearbyQuery, encoding: Encoding): void {
    services.findNearby(query).then(
      (result) => {
        if (ws.getUserData().closed) return;
        // The buffer may have filled while the query ran: hold the answer back rather than grow the buffer.
        if (ws.getBufferedAmount() >= bound) defer(ws, query, encoding, 'unless-newer');
        else ws.cork(() => sendMessage(ws, { t: 'nearby.result', id: query.id, ...result }, encoding));
      },
      (error: unknown) => {
        logger.error({ err: error }, 'nearby query failed');
        sendCorked(ws, { t: 'error', code: 'unavailable', message: 'nearby search is unavailable right now', id: query.id });
      },
    );
  }

  /**
   * Keeps the newest query only: a rider that cannot read wants the latest
   * answer, not every one it missed. A query that just arrived replaces the
   * one waiting; an answer that came back too late yields to a newer query.
   */
  function defer(ws: RiderSocket, query: NearbyQuery, encoding: Encoding, mode: 'replace' | 'unless-newer'): void {
    const data = ws.getUserData();
    services.onResultCoalesced();
    if (mode === 'unless-newer' && data.deferred) return;
    data.deferred = { query, encoding };
  }

  return { sockets };
}
