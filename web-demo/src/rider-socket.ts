import {
  nearbyQuerySchema,
  type NearbyQueryInput,
  type NearbyResultMessage,
  type ServerMessage,
} from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import { RiderSession } from '../../clients/core/rider-session.ts';
import { backoffDelayMs } from '../../clients/lib/backoff.ts';
import { createRng } from '../../src/domain/random.ts';

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'reconnecting'; attempt: number; retryAt: number; reason: string };

export type NearbyFilters = Omit<NearbyQueryInput, 't' | 'id'>;

export interface NearbyAnswer {
  result: NearbyResultMessage;
  /** Send to receive, measured in the page: what the rider actually waits. */
  roundTripMs: number;
}

/** A failed request; `code` is a protocol error code, or `offline` / `timeout` from this side. */
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

/** What the page keeps per query: the promise to settle and its timeout. */
interface Waiting {
  resolve: (answer: NearbyAnswer) => void;
  reject: (error: RequestError) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The clients' one backoff, capped lower than a fleet's: a person is watching the page. */
const BACKOFF = { initialMs: 500, maxMs: 8000 };
const REQUEST_TIMEOUT_MS = 5000;

/**
 * The rider WebSocket, kept open across hub restarts. JSON text frames only:
 * msgpack would drag a codec into the page for no gain at demo volumes.
 */
export class RiderSocket {
  private ws: WebSocket | undefined;
  private attempt = 0;
  /** Request ids and the queries waiting for answers: the clients' rider core. */
  private readonly session = new RiderSession<Waiting>();
  /** Jitter, so that many open tabs do not hit a restarted hub in lockstep. */
  private readonly rng = createRng(Math.floor(Math.random() * 2 ** 32));
  private readonly listeners = new Set<(state: ConnectionState) => void>();
  private currentState: ConnectionState = { kind: 'connecting' };

  constructor(private readonly url: string) {}

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

  nearby(filters: NearbyFilters): Promise<NearbyAnswer> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new RequestError('offline', 'not connected to the hub'));
    }
    const id = this.session.newId();
    // The hub's own schema: a query the page builds wrongly fails here, with
    // the same message the hub would send, instead of costing a round trip.
    const parsed = nearbyQuerySchema.safeParse({ t: 'nearby', id, ...filters });
    if (!parsed.success) {
      return Promise.reject(new RequestError('invalid_field', parsed.error.issues[0]?.message ?? 'invalid query'));
    }
    return new Promise<NearbyAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        for (const expired of this.session.expire(performance.now() - REQUEST_TIMEOUT_MS)) {
          expired.context.reject(new RequestError('timeout', `no answer within ${REQUEST_TIMEOUT_MS} ms`));
        }
      }, REQUEST_TIMEOUT_MS);
      this.session.track(id, { resolve, reject, timer }, performance.now());
      ws.send(JSON.stringify(parsed.data));
    });
  }

  private open(): void {
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      this.setState({ kind: 'live' });
    });
    ws.addEventListener('message', (event) => {
      if (typeof event.data === 'string') this.handleFrame(event.data);
    });
    ws.addEventListener('close', (event) => {
      this.ws = undefined;
      this.failPending(new RequestError('offline', 'connection closed'));
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
    if (message.t !== 'nearby.result' && message.t !== 'error') return;
    const query = this.session.answer(message);
    if (!query) return;
    const request = query.context;
    clearTimeout(request.timer);
    if (message.t === 'error') {
      request.reject(new RequestError(message.code, message.message, message.retryAfterMs));
      return;
    }
    // Only an answered query proves the hub usable: a socket that opens and is
    // closed straight away (a hub still starting, a refused token) keeps backing off.
    this.attempt = 0;
    request.resolve({ result: message, roundTripMs: performance.now() - query.sentAt });
  }

  private failPending(error: RequestError): void {
    for (const { context } of this.session.lost()) {
      clearTimeout(context.timer);
      context.reject(error);
    }
  }

  private setState(state: ConnectionState): void {
    this.currentState = state;
    for (const listener of this.listeners) listener(state);
  }
}

/** `ws://host/ws/rider` beside the page, passing on the page's own `?token=`. */
export function riderSocketUrl(page: Location): string {
  const url = new URL('/ws/rider', page.href);
  url.protocol = page.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = new URLSearchParams(page.search).get('token');
  if (token) url.searchParams.set('token', token);
  return url.toString();
}
