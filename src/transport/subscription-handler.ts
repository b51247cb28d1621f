import { errorFrame, HubError, type ErrorMessage } from '../protocol/index.ts';
import type { NearbyUpdateMessage, SubscribeMessage, SubscribeMoveMessage, UnsubscribeMessage } from '../protocol/messages.ts';
import type { Subscriber } from '../subscriptions/types.ts';
import type { HubServices } from './ports.ts';
import { sendCorked, sendMessage, type RiderSocket } from './socket-data.ts';

export interface SubscriptionHandler {
  /** Gives a new rider socket its subscriber; before any message of it is routed. */
  opened(ws: RiderSocket): void;
  subscribe(ws: RiderSocket, message: SubscribeMessage): void;
  move(ws: RiderSocket, message: SubscribeMoveMessage): void;
  unsubscribe(ws: RiderSocket, message: UnsubscribeMessage): void;
  /** The socket's buffer drained: updates held back go out. */
  drained(ws: RiderSocket): void;
  /** The socket closed: its subscriptions end. */
  closed(ws: RiderSocket): void;
}

/**
 * One rider socket as the subscription registry sees it. Updates come from
 * commits and timers, outside any uWS callback, so each send is corked; one
 * that would go over the outbound bound is refused, and the registry sends
 * the newest list when the socket drains.
 */
class SocketSubscriber implements Subscriber {
  constructor(
    private readonly ws: RiderSocket,
    readonly quotaKey: string,
    private readonly maxBackpressureBytes: number,
  ) {}

  push(update: NearbyUpdateMessage): boolean {
    // A closed socket takes nothing; its subscriptions end with the close callback.
    if (this.ws.getUserData().closed) return true;
    if (this.ws.getBufferedAmount() >= this.maxBackpressureBytes) return false;
    sendCorked(this.ws, update);
    return true;
  }

  fail(error: ErrorMessage): void {
    sendCorked(this.ws, error);
  }
}

/** The rider socket's live nearby messages, handed to the subscription registry. */
export function subscriptionHandler(services: HubServices, maxBackpressureBytes: number): SubscriptionHandler {
  let connections = 0;
  const subscriberOf = (ws: RiderSocket) => ws.getUserData().subscriber as Subscriber;

  /** Runs a registry call; a refusal is answered with its typed error, naming the subscription. */
  function attempt(ws: RiderSocket, id: string | number, call: () => void): boolean {
    try {
      call();
      return true;
    } catch (error) {
      if (!(error instanceof HubError)) throw error;
      error.requestId = id;
      services.record({ type: 'frame.refused', code: error.code });
      sendMessage(ws, errorFrame(error));
      return false;
    }
  }

  return {
    opened(ws) {
      const data = ws.getUserData();
      // Verified riders share their quota across connections; in open mode riders name themselves, so each connection has its own.
      const quotaKey = data.capKey ?? `connection:${++connections}`;
      data.subscriber = new SocketSubscriber(ws, quotaKey, maxBackpressureBytes);
    },
    subscribe(ws, message) {
      attempt(ws, message.id, () => services.subscriptions.subscribe(subscriberOf(ws), message));
    },
    move(ws, message) {
      attempt(ws, message.id, () => services.subscriptions.move(subscriberOf(ws), message));
    },
    unsubscribe(ws, message) {
      if (attempt(ws, message.id, () => services.subscriptions.unsubscribe(subscriberOf(ws), message.id))) {
        sendMessage(ws, { t: 'unsubscribed', id: message.id });
      }
    },
    drained(ws) {
      if (ws.getBufferedAmount() < maxBackpressureBytes) services.subscriptions.drained(subscriberOf(ws));
    },
    closed(ws) {
      services.subscriptions.disconnect(subscriberOf(ws));
    },
  };
}
