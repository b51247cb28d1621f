import type { RiderMessage } from '../protocol/messages.ts';
import type { NearbyHandler } from './nearby-handler.ts';
import type { RideHandlers } from './ride-handlers.ts';
import type { HandlerTable } from './routing.ts';
import type { RiderSocket } from './socket-data.ts';
import type { SubscriptionHandler } from './subscription-handler.ts';

export type RiderHandlers = HandlerTable<RiderMessage, RiderSocket>;

/** What a rider socket does with each message it accepts. Add a line per new rider message type. */
export function riderHandlers(nearby: NearbyHandler, subscriptions: SubscriptionHandler, rides: RideHandlers['rider']): RiderHandlers {
  return {
    nearby: (ws, query) => nearby.handle(ws, query),
    subscribe: (ws, message) => subscriptions.subscribe(ws, message),
    'subscribe.move': (ws, message) => subscriptions.move(ws, message),
    unsubscribe: (ws, message) => subscriptions.unsubscribe(ws, message),
    ...rides,
  };
}
