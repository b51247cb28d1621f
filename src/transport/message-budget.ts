import type { Encoding } from '../protocol/codec.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import type { HubEvent, HubServices } from './ports.ts';
import { sendMessage, type CommonSocketData } from './socket-data.ts';
import type { WebSocket } from './uws.ts';

const RATE_LIMITED: HubEvent = { type: 'frame.refused', code: 'rate_limited' };

/**
 * Charges one incoming message to its connection's rate limit, before the
 * message is processed (nothing queued, queried or written). Over the limit the client is told when to retry;
 * a client that keeps pushing into refusals is closed with 1008. A refused
 * `loc` frame's seq is echoed, so the driver knows where to resend from.
 */
export function admitMessage(ws: WebSocket<CommonSocketData>, encoding: Encoding, services: Pick<HubServices, 'record'>, seq?: number): boolean {
  const data = ws.getUserData();
  const decision = data.rate.admit(Date.now());
  if (decision === 'allow') return true;
  if (decision === 'close') {
    services.record({ type: 'socket.closed_by_hub', reason: 'rate_abuse' });
    ws.end(CloseCode.POLICY_VIOLATION, 'message rate limit exceeded persistently');
    return false;
  }
  services.record(RATE_LIMITED);
  sendMessage(
    ws,
    {
      t: 'error',
      code: 'rate_limited',
      message: "over this connection's message rate; nothing was processed",
      ...(seq !== undefined && { seq }),
      retryAfterMs: data.rate.retryAfterMs,
    },
    encoding,
  );
  return false;
}
