import type { Role } from '../domain/identity.ts';
import type { HubEvent } from './ports.ts';

/**
 * A routing table: one handler per message type a socket accepts, keyed by
 * `t`. The protocol's message table for the role decides the keys, so adding
 * a message to the protocol without a handler here is a type error. Handlers
 * run inside the uWS message callback: they may reply at once, and must cork
 * anything they send later.
 */
export type HandlerTable<Message extends { t: string }, Socket> = {
  readonly [T in Message['t']]: (ws: Socket, message: Extract<Message, { t: T }>, receivedAtMs: number) => void;
};

/** Calls the handler for the message's type. */
export function route<Message extends { t: string }, Socket>(table: HandlerTable<Message, Socket>, ws: Socket, message: Message, receivedAtMs: number): void {
  // The table is indexed by the message's own `t`, so this handler takes exactly this message;
  // TypeScript cannot correlate the two through the mapped type, hence the widening.
  const handler = table[message.t as Message['t']] as (ws: Socket, message: Message, receivedAtMs: number) => void;
  handler(ws, message, receivedAtMs);
}

/** One `frame.received` event per message type, built once: counting a frame allocates nothing. */
export function receivedEvents(role: Role, table: object): ReadonlyMap<string, HubEvent> {
  return new Map(Object.keys(table).map((messageType) => [messageType, { type: 'frame.received', role, messageType }]));
}
