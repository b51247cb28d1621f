import { CloseCode } from '../protocol/close-codes.ts';
import type { HubCloseReason } from './ports.ts';
import type { CommonSocketData } from './socket-data.ts';
import type { WebSocket } from './uws.ts';

export type SweepCloseReason = Extract<HubCloseReason, 'token_expired' | 'too_slow'>;

export interface SweepSettings {
  /** The outbound bound; the same number uWS enforces as maxBackpressure. */
  maxBackpressureBytes: number;
  /** How long a socket may stay over the bound before it is closed. */
  slowCloseMs: number;
}

/**
 * One timer for every socket rather than one per socket: it closes sockets
 * whose token expired (4401) and sockets whose client has not read for too
 * long (4008). A slow client may stop sending too, so this cannot wait for
 * its next message.
 */
export interface SweepHooks {
  onClose(reason: SweepCloseReason): void;
  /** After each pass: how many sockets are over the outbound bound right now. */
  onSlowCount(count: number): void;
}

export function startSocketSweeper(sockets: () => Iterable<WebSocket<CommonSocketData>>, settings: SweepSettings, hooks: SweepHooks): { stop(): void } {
  const intervalMs = Math.min(1000, Math.max(50, Math.floor(settings.slowCloseMs / 4)));
  const timer = setInterval(() => {
    const now = Date.now();
    let slow = 0;
    for (const ws of sockets()) {
      const data = ws.getUserData();
      if (data.closed) continue;
      if (data.expiresAtMs <= now) {
        close(ws, 'token_expired', CloseCode.TOKEN_EXPIRED, 'token expired; reconnect with a fresh token');
        continue;
      }
      if (ws.getBufferedAmount() < settings.maxBackpressureBytes) {
        data.slowSinceMs = 0;
        continue;
      }
      slow += 1;
      if (data.slowSinceMs === 0) data.slowSinceMs = now;
      else if (now - data.slowSinceMs >= settings.slowCloseMs)
        close(ws, 'too_slow', CloseCode.TOO_SLOW, 'outbound buffer stayed full: the client reads too slowly');
    }
    hooks.onSlowCount(slow);
  }, intervalMs);
  timer.unref();

  function close(ws: WebSocket<CommonSocketData>, reason: SweepCloseReason, code: number, message: string): void {
    hooks.onClose(reason);
    ws.cork(() => ws.end(code, message));
  }

  return { stop: () => clearInterval(timer) };
}
