import type { NearbyUpdateMessage, ServerMessage } from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import { SubscriptionSession, type WatchCriteria } from '../../clients/core/subscription-session.ts';
import { backoffDelayMs } from '../../clients/lib/backoff.ts';
import { createRng } from '../../src/domain/random.ts';

export type { WatchCriteria };

export type ConnectionState = { kind: 'connecting' } | { kind: 'live' } | { kind: 'reconnecting'; attempt: number; retryAt: number; reason: string };

/** A refused subscription; `code` is a protocol error code. */
export class RequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

export interface WatchHandlers {
  update(update: NearbyUpdateMessage): void;
  error(error: RequestError): void;
}

/** The clients' one backoff, capped lower than a fleet's: a person is watching the page. */
const BACKOFF = { initialMs: 500, maxMs: 8000 };
/** After the hub refused a subscription for now (unavailable, rate limited), ask again this much later at least. */
const RENEW_MS = 2000;

/**
 * The rider WebSocket, kept open across hub restarts, carrying live nearby
 * subscriptions: each list is subscribed once and then pushed by the hub
 * whenever it changes, and every subscription is made again on reconnect
 * (a closed socket ends them). JSON text frames only: msgpack would drag a
 * codec into the page for no gain at demo volumes.
 */
export class RiderSocket {
  private ws: WebSocket | undefined;
  private attempt = 0;
  /** Subscription ids, criteria and routing: the clients' subscription core. */
  private readonly session = new SubscriptionSession<WatchHandlers>('w');
  /** Jitter, so that many open tabs do not hit a restarted hub in lockstep. */
  private readonly rng = createRng(Math.floor(Math.random() * 2 ** 32));
  private readonly listeners = new Set<(state: ConnectionState) => void>();
  private readonly rideListeners = new Set<(message: ServerMessage) => void>();
  private currentState: ConnectionState = { kind: 'connecting' };

  /** `url` is asked before every connect: a token in it may have expired since the last one. */
  constructor(private readonly url: () => Promise<string>) {}

  get live(): boolean {
    return this.currentState.kind === 'live';
  }

  onState(listener: (state: ConnectionState) => void): void {
    this.listeners.add(listener);
    listener(this.currentState);
  }

  start(): void {
    this.open();
  }

  /**
   * Starts a live list and returns its id. Criteria the hub would refuse are
   * refused here, with the hub's own schema and message, without a round trip.
   */
  watch(criteria: WatchCriteria, handlers: WatchHandlers): string | undefined {
    let opened;
    try {
      opened = this.session.add(criteria, handlers);
    } catch (error) {
      handlers.error(new RequestError('invalid_field', (error as Error).message));
      return undefined;
    }
    this.send(opened.message);
    return opened.watch.id;
  }

  /** Re-centres a live list (the rider moved, the map panned); the hub answers with the list around the new centre. */
  move(id: string, lat: number, lng: number): void {
    const message = this.session.move(id, lat, lng);
    if (message) this.send(message);
  }

  unwatch(id: string): void {
    const message = this.session.remove(id);
    if (message) this.send(message);
  }

  /** Every hub message that is not about a subscription (rides, mostly) goes to these listeners. */
  onRideMessage(listener: (message: ServerMessage) => void): void {
    this.rideListeners.add(listener);
  }

  /** Sends a ride message now; false when the socket is not open (nothing is queued for later). */
  sendRide(message: object): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  private send(message: object): void {
    // While the socket is down there is nothing to send: open() subscribes every list afresh.
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private open(): void {
    void this.url().then((url) => this.connect(url));
  }

  private connect(url: string): void {
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.setState({ kind: 'live' });
      for (const message of this.session.reopen()) this.send(message);
    });
    ws.addEventListener('message', (event) => {
      if (typeof event.data === 'string') this.handleFrame(event.data);
    });
    ws.addEventListener('close', (event) => {
      this.ws = undefined;
      this.scheduleReconnect(event.reason || (event.code === 1006 ? 'hub unreachable' : `closed (${event.code})`));
    });
  }

  private scheduleReconnect(reason: string): void {
    const delay = backoffDelayMs(this.attempt, this.rng, BACKOFF);
    this.attempt += 1;
    this.setState({ kind: 'reconnecting', attempt: this.attempt, retryAt: Date.now() + delay, reason });
    setTimeout(() => this.open(), delay);
  }

  private handleFrame(text: string): void {
    let message: ServerMessage;
    try {
      message = decodeServerMessage(text);
    } catch (error) {
      console.warn('ignoring an undecodable frame from the hub', error);
      return;
    }
    const event = this.session.route(message);
    if (!event) {
      for (const listener of this.rideListeners) listener(message);
      return;
    }
    const handlers = event.watch.context;
    if (event.kind === 'update') {
      // Only an answer proves the hub usable: a socket that opens and is
      // closed straight away (a hub still starting, a refused token) keeps backing off.
      this.attempt = 0;
      handlers.update(event.update);
      return;
    }
    const { code, retryAfterMs } = event.error;
    handlers.error(new RequestError(code, event.error.message, retryAfterMs));
    // Answers to a renewal below, for whichever half did not apply; and a final refusal, which the session already ended.
    if (code === 'subscription_exists' || code === 'not_found' || code === 'invalid_field' || code === 'out_of_range') return;
    const id = event.watch.id;
    setTimeout(
      () => {
        for (const renewal of this.session.renew(id) ?? []) this.send(renewal);
      },
      Math.max(RENEW_MS, retryAfterMs ?? 0),
    );
  }

  private setState(state: ConnectionState): void {
    this.currentState = state;
    for (const listener of this.listeners) listener(state);
  }
}

/** Where a hub started with DEMO_RIDER_TOKENS hands out rider tokens; any other hub answers 204, no token. */
const DEMO_TOKEN_PATH = '/api/demo/rider-token';

/**
 * `ws://host/ws/rider` beside the page, with a token: the page's own
 * `?token=` if it has one, else a demo token when the hub offers them (a hub
 * with AUTH_SECRET and DEMO_RIDER_TOKENS), else none (an open hub).
 */
export async function riderSocketUrl(page: Location): Promise<string> {
  const url = new URL('/ws/rider', page.href);
  url.protocol = page.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(page.search).get('token') ?? (await demoToken(page));
  if (token) url.searchParams.set('token', token);
  // An open hub believes the id it is given: one per tab, so each tab's rider has rides of its own.
  else url.searchParams.set('id', tabRiderId());
  return url.toString();
}

const RIDER_ID_KEY = 'dispatch-hub.rider-id';

function tabRiderId(): string {
  let id = sessionStorage.getItem(RIDER_ID_KEY);
  if (!id) {
    id = `map-${Math.random().toString(36).slice(2, 10)}`;
    sessionStorage.setItem(RIDER_ID_KEY, id);
  }
  return id;
}

async function demoToken(page: Location): Promise<string | null> {
  try {
    const response = await fetch(new URL(DEMO_TOKEN_PATH, page.href), { cache: 'no-store' });
    if (response.status !== 200) return null;
    const body = (await response.json()) as { token?: unknown };
    return typeof body.token === 'string' ? body.token : null;
  } catch {
    // The hub is unreachable: the socket attempt that follows fails and backs off, and says so.
    return null;
  }
}
