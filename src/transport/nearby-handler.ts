import type { Logger } from '../logger.ts';
import type { Encoding } from '../protocol/codec.ts';
import type { NearbyQuery } from '../protocol/messages.ts';
import type { HubServices } from './ports.ts';
import { sendCorked, sendMessage, type RiderSocket } from './socket-data.ts';

export interface NearbyHandler {
  /** Answers a query, or holds it back while the rider's outbound buffer is over the bound. */
  handle(ws: RiderSocket, query: NearbyQuery): void;
  /** The rider's buffer drained: answers the query held back, if any. */
  drained(ws: RiderSocket): void;
}

/**
 * Answers nearby queries. The outbound buffer is bounded (maxBackpressure):
 * while a rider's buffer is over it, its queries are coalesced, only the
 * newest one kept, and that one is answered when the buffer drains. So a
 * rider that stops reading costs one remembered query, never a growing queue;
 * the sweeper closes it if it stays that way.
 */
export function nearbyHandler(services: HubServices, maxBackpressureBytes: number, logger: Logger): NearbyHandler {
  const bound = maxBackpressureBytes;

  function answer(ws: RiderSocket, query: NearbyQuery, encoding: Encoding): void {
    services.nearby.find(query).then(
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
    services.record({ type: 'result.coalesced' });
    if (mode === 'unless-newer' && data.deferred) return;
    data.deferred = { query, encoding };
  }

  return {
    handle(ws, query) {
      const encoding = ws.getUserData().encoding;
      if (ws.getBufferedAmount() >= bound) defer(ws, query, encoding, 'replace');
      else answer(ws, query, encoding);
    },
    drained(ws) {
      if (ws.getBufferedAmount() >= bound) return;
      const data = ws.getUserData();
      data.slowSinceMs = 0;
      const deferred = data.deferred;
      if (!deferred) return;
      data.deferred = undefined;
      answer(ws, deferred.query, deferred.encoding);
    },
  };
}
