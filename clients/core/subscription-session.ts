import {
  subscribeMoveSchema,
  subscribeSchema,
  unsubscribeSchema,
  type ErrorMessage,
  type NearbyUpdateMessage,
  type ServerMessage,
  type SubscribeInput,
  type SubscribeMessage,
  type SubscribeMoveMessage,
  type UnsubscribeMessage,
} from '../../src/protocol/messages.ts';

/** What a live list watches: the criteria of `subscribe`. */
export type WatchCriteria = Omit<SubscribeInput, 't' | 'id'>;

/** One open subscription: its latest criteria (a move updates the centre) and what the caller keeps with it. */
export interface Watch<Context> {
  id: string;
  criteria: WatchCriteria;
  context: Context;
}

/** A server message routed to the subscription it concerns. */
export type WatchEvent<Context> =
  { kind: 'update'; watch: Watch<Context>; update: NearbyUpdateMessage } | { kind: 'error'; watch: Watch<Context>; error: ErrorMessage };

/** Errors after which the hub holds no such subscription and asking again with the same criteria would be refused again. */
const FINAL_CODES: ReadonlySet<string> = new Set(['invalid_field', 'out_of_range']);

/**
 * The subscribing side of the rider protocol, without a socket: ids, the
 * messages to send (validated by the hub's own schemas), routing each
 * `nearby.update` and `error` to its subscription, and re-opening every
 * subscription on a new connection (a closed socket ends them on the hub).
 * Shared by the map demo and the benchmark's subscribers.
 */
export class SubscriptionSession<Context> {
  private nextId = 1;
  private readonly watches = new Map<string, Watch<Context>>();

  constructor(private readonly idPrefix = 's') {}

  get size(): number {
    return this.watches.size;
  }

  /** Opens a subscription; throws the schema's error for criteria the hub would refuse. */
  add(criteria: WatchCriteria, context: Context): { watch: Watch<Context>; message: SubscribeMessage } {
    const id = `${this.idPrefix}${this.nextId++}`;
    const message = subscribeSchema.parse({ t: 'subscribe', id, ...criteria });
    const watch = { id, criteria, context };
    this.watches.set(id, watch);
    return { watch, message };
  }

  /** Re-centres a subscription; undefined when it is not open. */
  move(id: string, lat: number, lng: number): SubscribeMoveMessage | undefined {
    const watch = this.watches.get(id);
    if (!watch) return undefined;
    watch.criteria = { ...watch.criteria, lat, lng };
    return subscribeMoveSchema.parse({ t: 'subscribe.move', id, lat, lng });
  }

  /** Ends a subscription; undefined when it is not open. */
  remove(id: string): UnsubscribeMessage | undefined {
    if (!this.watches.delete(id)) return undefined;
    return unsubscribeSchema.parse({ t: 'unsubscribe', id });
  }

  /** On a new connection: the messages that open every subscription again, with its latest criteria. */
  reopen(): SubscribeMessage[] {
    return [...this.watches.values()].map((watch) => subscribeSchema.parse({ t: 'subscribe', id: watch.id, ...watch.criteria }));
  }

  /**
   * The messages that make a subscription afresh after the hub refused it for
   * now (unavailable, rate limited, over the limit): it may hold it at an older
   * centre or not at all, so it is ended and opened again.
   */
  renew(id: string): [UnsubscribeMessage, SubscribeMessage] | undefined {
    const watch = this.watches.get(id);
    if (!watch) return undefined;
    return [unsubscribeSchema.parse({ t: 'unsubscribe', id }), subscribeSchema.parse({ t: 'subscribe', id, ...watch.criteria })];
  }

  /**
   * The subscription a message concerns, or undefined (another kind of
   * message, or an id that is not open). A final error (bad criteria) ends the
   * subscription here too.
   */
  route(message: ServerMessage): WatchEvent<Context> | undefined {
    if (message.t !== 'nearby.update' && message.t !== 'error') return undefined;
    const watch = typeof message.id === 'string' ? this.watches.get(message.id) : undefined;
    if (!watch) return undefined;
    if (message.t === 'nearby.update') return { kind: 'update', watch, update: message };
    if (FINAL_CODES.has(message.code)) this.watches.delete(watch.id);
    return { kind: 'error', watch, error: message };
  }
}
