import type { RiderMessage } from '../protocol/messages.ts';
import type { NearbyHandler } from './nearby-handler.ts';
import type { HandlerTable } from './routing.ts';
import type { RiderSocket } from './socket-data.ts';

export type RiderHandlers = HandlerTable<RiderMessage, RiderSocket>;

/** What a rider socket does with each message it accepts. Add a line per new rider message type. */
export function riderHandlers(nearby: NearbyHandler): RiderHandlers {
  return {
    nearby: (ws, query) => nearby.handle(ws, query),
  };
}
