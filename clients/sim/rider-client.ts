import { codecFor, type Codec, type Encoding } from '../../src/protocol/codec.ts';
import { DrainSignal } from '../lib/drain-signal.ts';
import { VEHICLE_TYPES } from '../../src/domain/driver.ts';
import type { NearbyQueryInput, ServerMessage } from '../../src/protocol/messages.ts';
import { checkNearbyAnswer } from '../core/answer-check.ts';
import type { BackoffOptions } from '../lib/backoff.ts';
import { hubSocketUrl, type TokenProvider } from '../core/endpoints.ts';
import type { Rng } from '../../src/domain/random.ts';
import { ReconnectingSocket } from '../core/reconnecting-socket.ts';
import { RiderSession } from '../core/rider-session.ts';
import type { StreetGrid } from './street-grid.ts';
import { RiderRides } from './rider-rides.ts';
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
  /** Mean seconds between ride requests while the rider has no ride; 0 never requests. */
  rideEveryS?: number | undefined;
}

/**
 * One rider app polling for nearby drivers at a steady rate and checking
 * every answer against the contract; each broken rule is a violation.
 */
export class RiderClient {
  private readonly socket: ReconnectingSocket;
  private readonly codec: Codec;
  /** Request ids and the queries waiting for their answers. */
  private readonly session = new RiderSession<NearbyQueryInput>();
  private connected = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly drain = new DrainSignal();
  private readonly rides: RiderRides | undefined;

  constructor(private readonly options: RiderClientOptions) {
    const { hubUrl, riderIndex } = options;
    this.codec = codecFor(options.encoding);
    this.rides = options.rideEveryS
      ? new RiderRides({
          grid: options.grid,
          rng: options.rng,
          stats: options.stats,
          everyS: options.rideEveryS,
          send: (message) => this.socket.send(this.codec.encode(message)),
        })
      : undefined;
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
    this.rides?.start();
  }

  async stop(drainMs: number): Promise<void> {
    clearInterval(this.tickTimer);
    this.rides?.stop();
    if (this.session.outstanding > 0 && drainMs > 0) await this.drain.wait(drainMs);
    await this.socket.close(1000, 'simulation ended');
  }

  private tick(): void {
    this.expireQueries();
    if (!this.connected) return;
    if (this.session.outstanding >= MAX_PENDING) {
      this.options.stats.error('nearby_backlog');
      return;
    }
    const id = this.session.newId();
    const query = this.randomQuery(id);
    if (!this.socket.send(this.codec.encode(query))) return;
    this.session.track(id, query, performance.now());
    this.options.stats.counters.nearbySent += 1;
  }

  /** A mix of what riders ask: mostly plain "who is near", sometimes a vehicle class or a rating floor. */
  private randomQuery(id: number): NearbyQueryInput {
    const { rng, grid } = this.options;
    const { lat, lng } = grid.randomPosition(rng);
    const query: NearbyQueryInput = {
      t: 'nearby',
      id,
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
        const pending = this.session.answer(message);
        if (!pending) {
          stats.error('unmatched_reply');
          return;
        }
        this.settled();
        stats.nearbyAnswered(performance.now() - pending.sentAt, message.source);
        stats.counters.nearbyDriversReturned += message.drivers.length;
        for (const kind of checkNearbyAnswer(pending.context, message.drivers)) stats.violation(kind);
        return;
      }
      case 'error':
        if (this.session.answer(message)) this.settled();
        this.rides?.handle(message);
        stats.error(message.code);
        return;
      case undefined:
        stats.error('bad_reply');
        return;
      default:
        if (!message || !this.rides?.handle(message)) stats.error('unexpected_reply');
    }
  }

  private settled(): void {
    if (this.session.outstanding === 0) this.drain.fire();
  }

  private expireQueries(): void {
    const expired = this.session.expire(performance.now() - QUERY_TIMEOUT_MS);
    for (let i = 0; i < expired.length; i++) this.options.stats.error('nearby_timeout');
    if (expired.length > 0) this.settled();
  }

  private handleClose(): void {
    this.setConnected(false);
    // Answers to these can never arrive: the hub replies on the socket that asked.
    const lost = this.session.lost();
    for (let i = 0; i < lost.length; i++) this.options.stats.error('nearby_lost');
    if (lost.length > 0) this.drain.fire();
  }

  private setConnected(connected: boolean): void {
    if (connected === this.connected) return;
    this.connected = connected;
    this.options.stats.counters.connectedRiders += connected ? 1 : -1;
  }
}
