import { msgpackCodec } from '../../src/protocol/codec.ts';
import { DrainSignal } from '../lib/drain-signal.ts';
import type { LocationFrame, ServerMessage, StatusFrame } from '../../src/protocol/messages.ts';
import type { BackoffOptions } from '../lib/backoff.ts';
import { hubSocketUrl, type TokenProvider } from '../core/endpoints.ts';
import type { Vehicle } from './movement.ts';
import { DriverSession } from '../core/driver-session.ts';
import type { Rng } from '../../src/domain/random.ts';
import { ReconnectingSocket } from '../core/reconnecting-socket.ts';
import { DEFAULT_DRIVER_RIDES, DriverRides, type DriverRideOptions } from './driver-rides.ts';
import type { SimStats } from './stats.ts';
import type { StreetGrid } from './street-grid.ts';

/** How often drivers log off and for how long: shift ends, breaks, dead zones. */
export interface OfflinePolicy {
  /** Expected offline episodes per driver per minute online. */
  perMinute: number;
  minMs: number;
  maxMs: number;
}

export const DEFAULT_OFFLINE: OfflinePolicy = { perMinute: 0.05, minMs: 5_000, maxMs: 30_000 };

/** Ten minutes of frames at a 2 s interval: a tunnel or a hub restart, not a lost phone. */
export const DEFAULT_MAX_BUFFERED = 300;

/**
 * In normal streaming one frame is in flight at a time; the window only bites
 * when a reconnect or a refusal leaves a backlog, which then goes out in
 * ack-paced steps instead of one burst of hundreds of frames.
 */
const MAX_IN_FLIGHT = 32;

/** Used when an `overloaded` or `rate_limited` error names no retryAfterMs. */
const DEFAULT_RETRY_AFTER_MS = 1_000;

export interface DriverClientOptions {
  hubUrl: string;
  driverId: number;
  intervalMs: number;
  vehicle: Vehicle;
  /** For network decisions only; the vehicle has its own, so timing never changes the route. */
  rng: Rng;
  stats: SimStats;
  tokenProvider?: TokenProvider | undefined;
  maxBuffered?: number | undefined;
  /** Null keeps every driver online for the whole run. */
  offline?: OfflinePolicy | null | undefined;
  backoff?: BackoffOptions | undefined;
  /** The grid the vehicle drives: where a ride without a dropoff goes. */
  grid: StreetGrid;
  /** How offers are answered and rides run. */
  rides?: DriverRideOptions | undefined;
}

/** `syncing` = socket open, hello not yet received; `away` = deliberately offline. */
type Phase = 'syncing' | 'ready' | 'disconnected' | 'away' | 'stopped';

/**
 * One driver app: drives its vehicle, streams msgpack `loc` frames, keeps
 * every unacknowledged frame until an ack covers it, and resends from the
 * hub's lastSeq after any reconnect, so a flaky link loses no positions
 * unless the buffer overflows.
 */
export class DriverClient {
  private readonly socket: ReconnectingSocket;
  /** Numbering, the unacknowledged frames and the send window; numbering waits for the first hello. */
  private readonly session: DriverSession<Uint8Array>;
  private phase: Phase = 'disconnected';
  private tickTimer: NodeJS.Timeout | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private awayTimer: NodeJS.Timeout | undefined;
  private readonly drain = new DrainSignal();
  private readonly send = (bytes: Uint8Array): boolean => this.socket.send(bytes);
  private readonly rides: DriverRides;

  constructor(private readonly options: DriverClientOptions) {
    const { hubUrl, driverId } = options;
    const { counters } = options.stats;
    this.session = new DriverSession<Uint8Array>({
      capacity: options.maxBuffered ?? DEFAULT_MAX_BUFFERED,
      maxInFlight: MAX_IN_FLIGHT,
      events: {
        acked: (_seq, sentAt, now) => {
          counters.bufferedFrames -= 1;
          options.stats.frameAcked(sentAt === undefined ? undefined : now - sentAt);
        },
        resumed: () => {
          counters.bufferedFrames -= 1;
          counters.framesResumed += 1;
        },
        dropped: () => {
          counters.bufferedFrames -= 1;
          counters.framesDropped += 1;
        },
        sent: (_seq, resend) => {
          counters.framesSent += 1;
          if (resend) counters.framesResent += 1;
        },
      },
    });
    this.rides = new DriverRides({
      vehicle: options.vehicle,
      grid: options.grid,
      rng: options.rng,
      stats: options.stats,
      // Only while the hello has settled the session: a step sent earlier could race the resume.
      send: (message) => this.phase === 'ready' && this.socket.send(msgpackCodec.encode(message)),
      options: options.rides ?? DEFAULT_DRIVER_RIDES,
    });
    this.socket = new ReconnectingSocket({
      // encoding=msgpack makes the hub's hello, sent before any frame of ours, msgpack too.
      url: (token) => hubSocketUrl(hubUrl, 'driver', { id: driverId, encoding: 'msgpack', token }),
      subject: { role: 'driver', driverId },
      tokenProvider: options.tokenProvider,
      rng: options.rng,
      stats: options.stats,
      backoff: options.backoff,
      onOpen: () => this.setPhase('syncing'),
      onMessage: (message) => this.handleMessage(message),
      onClose: (replaced) => this.handleClose(replaced),
    });
  }

  start(): void {
    this.socket.connect();
    this.tickTimer = setInterval(() => this.tick(), this.options.intervalMs);
  }

  /**
   * Waits up to `drainMs` for outstanding acks so the summary does not count
   * frames still in flight as lost, then signs off and closes.
   */
  async stop(drainMs: number): Promise<void> {
    clearInterval(this.tickTimer);
    clearTimeout(this.awayTimer);
    this.rides.stop();
    if (this.phase === 'ready' && this.session.size > 0 && drainMs > 0) await this.drain.wait(drainMs);
    clearTimeout(this.holdTimer);
    if (this.phase === 'ready') this.sendStatus('offline');
    this.setPhase('stopped');
    await this.socket.close(1000, 'simulation ended');
  }

  private tick(): void {
    if (this.phase === 'away' || this.phase === 'stopped') return;
    const { vehicle, intervalMs, offline, rng } = this.options;
    vehicle.step(intervalMs / 1000);
    this.rides.tick();
    // A driver on a ride does not log off.
    if (this.phase === 'ready' && offline && !this.rides.busy && rng.chance(1 - Math.exp((-offline.perMinute * intervalMs) / 60_000))) {
      this.goAway(offline);
      return;
    }
    const state = vehicle.state();
    const seq = this.session.push((seq) => {
      const frame: LocationFrame = {
        t: 'loc',
        seq,
        lat: state.lat,
        lng: state.lng,
        ts: Date.now(),
        heading: state.headingDeg,
        // m/s, as the W3C Geolocation API and Android report it.
        speed: state.speedKmh / 3.6,
        accuracy: rng.range(3, 15),
      };
      return msgpackCodec.encode(frame) as Uint8Array;
    });
    if (seq === undefined) return;
    this.options.stats.counters.bufferedFrames += 1;
    this.flush();
  }

  private handleMessage(message: ServerMessage | undefined): void {
    const { stats } = this.options;
    switch (message?.t) {
      case 'hello':
        this.handleHello(message.lastSeq);
        return;
      case 'ack':
        this.handleAck(message.seq);
        return;
      case 'error':
        stats.error(message.code);
        if (message.code === 'overloaded' || message.code === 'rate_limited') this.hold(message.retryAfterMs);
        return;
      case undefined:
        stats.error('bad_reply');
        return;
      default:
        if (!message || !this.rides.handle(message)) stats.error('unexpected_reply');
    }
  }

  private handleHello(lastSeq: number): void {
    // A hello racing our own close (going away, stopping) must not revive the session.
    if (this.phase !== 'syncing') return;
    this.socket.resetBackoff();
    this.setPhase('ready');
    this.session.hello(lastSeq);
    this.sendStatus('online');
    this.flush();
  }

  private handleAck(seq: number): void {
    this.session.ack(seq, performance.now());
    if (this.session.size === 0) this.drain.fire();
    else this.flush();
  }

  private hold(retryAfterMs: number | undefined): void {
    this.session.refused();
    clearTimeout(this.holdTimer);
    // Stretched by up to half so drivers refused together do not all return together.
    const delayMs = (retryAfterMs ?? DEFAULT_RETRY_AFTER_MS) * this.options.rng.range(1, 1.5);
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      this.flush();
    }, delayMs);
  }

  private flush(): void {
    if (this.phase === 'ready' && !this.holdTimer) this.session.flush(this.send, performance.now());
  }

  private goAway(policy: OfflinePolicy): void {
    this.options.stats.counters.offlineEpisodes += 1;
    this.sendStatus('offline');
    this.setPhase('away');
    void this.socket.close(1000, 'driver offline');
    this.awayTimer = setTimeout(
      () => {
        this.setPhase('disconnected');
        this.socket.connect();
      },
      this.options.rng.range(policy.minMs, policy.maxMs),
    );
  }

  private handleClose(replaced: boolean): void {
    this.session.closed();
    clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    if (this.phase === 'syncing' || this.phase === 'ready') this.setPhase('disconnected');
    // Nothing more will be acked on this socket, so a pending drain is over.
    this.drain.fire();
    if (replaced) this.stepAside();
  }

  /** Another client now streams as this driver (the real app, another simulator): it keeps the driver. */
  private stepAside(): void {
    if (this.phase === 'stopped') return;
    clearInterval(this.tickTimer);
    clearTimeout(this.awayTimer);
    this.rides.stop();
    this.setPhase('stopped');
    this.options.stats.counters.driversReplaced += 1;
  }

  private sendStatus(status: StatusFrame['status']): void {
    const frame: StatusFrame = { t: 'status', status };
    if (this.socket.send(msgpackCodec.encode(frame))) this.options.stats.counters.statusSent += 1;
  }

  /** Keeps the fleet-wide gauges equal to the number of drivers in each phase. */
  private setPhase(next: Phase): void {
    const { counters } = this.options.stats;
    if (this.phase === 'ready') counters.connectedDrivers -= 1;
    if (this.phase === 'away') counters.offlineDrivers -= 1;
    this.phase = next;
    if (next === 'ready') counters.connectedDrivers += 1;
    if (next === 'away') counters.offlineDrivers += 1;
  }
}
