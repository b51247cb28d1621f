import { codecFor, type Codec, type Encoding } from '../../src/protocol/codec.ts';
import { DrainSignal } from '../lib/drain-signal.ts';
import { VEHICLE_TYPES } from '../../src/domain/driver.ts';
import type { NearbyQueryInput, ServerMessage } from '../../src/protocol/messages.ts';
import { checkNearbyAnswer } from '../core/answer-check.ts';
import type { BackoffOptions } from '../lib/backoff.ts';
import { hubSocketUrl, type TokenProvider } from '../core/endpoints.ts';
import type { Rng } from '../../src/domain/random.ts';
import { ReconnectingSocket } from '../core/reconnecting-socket.ts';
import type { StreetGrid } from './street-grid.ts';
import type { SimStats } from './stats.ts';

/** An unanswered query older than this counts as an error rather than a very slow answer. */
const QUERY_TIMEOUT_MS = 10_000;
/** Past this many outstanding queries a rider stops adding load to a hub that is not answering. */
const MAX_PENDING = 50;

export interface RiderClientOptions {
  hubUrl: string;
  riderIndex: number;
  queriesPerS: number;
  /** Riders stand anywhere on this grid's rectangle. */
  grid: StreetGrid;
  rng: Rng;
  stats: SimStats;
  encoding: Encoding;
  tokenProvider?: TokenProvider | undefined;
  backoff?: BackoffOptions | undefined;
}

interface PendingQuery {
  query: NearbyQueryInput;
  sentAt: number;
}

/**
 * One rider app polling for nearby drivers at a steady rate and checking
 * every answer against the contract; each broken rule is a violation.
 */
export class RiderClient {
  private readonly socket: ReconnectingSocket;
  private readonly codec: Codec;
  private readonly pending = new Map<number, PendingQuery>();
  private nextId = 1;
  private connected = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly drain = new DrainSignal();

  constructor(private readonly options: RiderClientOptions) {
    const { hubUrl, riderIndex } = options;
    this.codec = codecFor(options.encoding);
    this.socket = new ReconnectingSocket({
      url: (token) => hubSocketUrl(hubUrl, 'rider', { id: `sim-rider-${riderIndex}`, encoding: options.encoding, token }),
      subject: { role: 'rider', riderIndex },
      tokenProvider: options.tokenProvider,
      rng: options.rng,
      stats: options.stats,
      backoff: options.backoff,
      onOpen: () => {
        this.socket.resetBackoff();
        this.setConnected(true);
      },
      onMessage: (message) => this.handleMessage(message),
      onClose: () => this.handleClose(),
    });
  }

  start(): void {
    this.socket.connect();
    this.tickTimer = setInterval(() => this.tick(), 1000 / this.options.queriesPerS);
  }

  async stop(drainMs: number): Promise<void> {
    clearInterval(this.tickTimer);
    if (this.pending.size > 0 && drainMs > 0) await this.drain.wait(drainMs);
    await this.socket.close(1000, 'simulation ended');
  }

  private tick(): void {
    this.expireQueries();
    if (!this.connected) return;
    if (this.pending.size >= MAX_PENDING) {
      this.options.stats.error('nearby_backlog');
      return;
    }
    const query = this.randomQuery();
    if (!this.socket.send(this.codec.encode(query))) return;
    this.pending.set(query.id as number, { query, sentAt: performance.now() });
    this.options.stats.counters.nearbySent += 1;
  }

  /** A mix of what riders ask: mostly plain "who is near", sometimes a vehicle class or a rating floor. */
  private randomQuery(): NearbyQueryInput {
    const { rng, grid } = this.options;
    const { lat, lng } = grid.randomPosition(rng);
    const query: NearbyQueryInput = {
      t: 'nearby',
      id: this.nextId++,
      lat,
      lng,
      radiusKm: rng.pick([1, 2, 3, 5]),
      limit: rng.pick([5, 10, 20]),
    };
    if (rng.chance(0.25)) query.vehicleType = rng.pick(VEHICLE_TYPES);
    if (rng.chance(0.2)) query.minRating = rng.pick([4, 4.5]);
    return query;
  }

  private handleMessage(message: ServerMessage | undefined): void {
    const { stats } = this.options;
    switch (message?.t) {
      case 'nearby.result': {
        const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
        if (!pending) {
          stats.error('unmatched_reply');
          return;
        }
        this.settle(message.id as number);
        stats.nearbyAnswered(performance.now() - pending.sentAt, String(message.source));
        if (!Array.isArray(message.drivers)) {
          stats.error('bad_reply');
          return;
        }
        stats.counters.nearbyDriversReturned += message.drivers.length;
        for (const kind of checkNearbyAnswer(pending.query, message.drivers)) stats.violation(kind);
        return;
      }
      case 'error':
        if (typeof message.id === 'number') this.settle(message.id);
        stats.error(message.code);
        return;
      case undefined:
        stats.error('bad_reply');
        return;
      default:
        stats.error('unexpected_reply');
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.drain.fire();
  }

  private expireQueries(): void {
    const cutoff = performance.now() - QUERY_TIMEOUT_MS;
    for (const [id, { sentAt }] of this.pending) {
      if (sentAt >= cutoff) continue;
      this.settle(id);
      this.options.stats.error('nearby_timeout');
    }
  }

  private handleClose(): void {
    this.setConnected(false);
    // Answers to these can never arrive: the hub replies on the socket that asked.
    for (const id of this.pending.keys()) {
      this.options.stats.error('nearby_lost');
      this.settle(id);
    }
  }


  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.options.stats.counters.connectedRiders += connected ? 1 : -1;
  }
}
