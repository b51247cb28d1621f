import { encodeAck } from '../protocol/ack-frame.ts';
import type { Encoding } from '../protocol/codec.ts';
import { codecFor } from '../protocol/codec.ts';
import type { NearbyQuery, ServerMessage } from '../protocol/messages.ts';
import type { Subscriber } from '../subscriptions/types.ts';
import type { RateGuard } from './rate-guard.ts';
import type { WebSocket } from './uws.ts';

export interface CommonSocketData {
  /** Set on close; a closed uWS socket must never be touched again. */
  closed: boolean;
  /** The encoding of the latest frame: pushes use it. */
  encoding: Encoding;
  /** This connection's message budget. */
  rate: RateGuard;
  /** When the token expires (Infinity in open mode): the sweeper closes the socket then. */
  expiresAtMs: number;
  /** The connection-cap slot this socket holds, given back on close. */
  capKey: string | undefined;
  /** Since when the outbound buffer has been over the bound; 0 while it is not. */
  slowSinceMs: number;
}

export interface DriverSocketData extends CommonSocketData {
  role: 'driver';
  driverId: number;
  lastSeq: number;
  /** Set when a newer socket for the same driver took over: its frames are ignored from then on. */
  replaced: boolean;
}

export interface RiderSocketData extends CommonSocketData {
  role: 'rider';
  riderId: string;
  /** The newest query that arrived (or whose answer was ready) while the buffer was over the bound; answered on drain. */
  deferred: { query: NearbyQuery; encoding: Encoding } | undefined;
  /** The socket as live nearby subscriptions see it; set when it opens. */
  subscriber: Subscriber | undefined;
}

export type DriverSocket = WebSocket<DriverSocketData>;
export type RiderSocket = WebSocket<RiderSocketData>;

/** Encodes and sends one message in the given encoding; false when the socket is closed or the send was dropped. */
export function sendMessage(ws: WebSocket<CommonSocketData>, message: ServerMessage, encoding = ws.getUserData().encoding): boolean {
  if (ws.getUserData().closed) return false;
  const payload = codecFor(encoding).encode(message);
  return ws.send(payload, encoding === 'msgpack') !== 2;
}

/** Sends from outside a uWS callback (timers, database callbacks): corked, so the write is one syscall. */
export function sendCorked(ws: WebSocket<CommonSocketData>, message: ServerMessage): void {
  if (ws.getUserData().closed) return;
  ws.cork(() => sendMessage(ws, message));
}

// The one corked ack send, as module state and a function made once: no closure per ack.
let ackSocket: WebSocket<CommonSocketData> | undefined;
let ackFrame: Uint8Array = new Uint8Array(0);
let ackBinary = false;
function sendPendingAck(): void {
  ackSocket!.send(ackFrame, ackBinary);
}

/** Sends `{t:"ack", seq}` from outside a uWS callback, pre-encoded and corked (one syscall); a closed socket is skipped. */
export function sendAck(ws: WebSocket<CommonSocketData>, seq: number): void {
  const data = ws.getUserData();
  if (data.closed) return;
  ackFrame = encodeAck(seq, data.encoding);
  ackBinary = data.encoding === 'msgpack';
  ackSocket = ws;
  try {
    ws.cork(sendPendingAck);
  } finally {
    ackSocket = undefined;
  }
}

export function encodingFromQuery(query: URLSearchParams): Encoding {
  return query.get('encoding') === 'msgpack' ? 'msgpack' : 'json';
}
