import type { HistogramData } from '../../clients/lib/latency-histogram.ts';

/**
 * What the orchestrator asks of a load-generator process, and what comes
 * back, over the child-process IPC channel. Every socket a worker opens is
 * one of its own file descriptors, so the orchestrator never gives one
 * worker more than WORKER_MAX_SOCKETS.
 */
export const WORKER_MAX_SOCKETS = 19_000;

export interface HubAddress {
  host: string;
  port: number;
}

/** Where riders stand and what they ask. */
export interface QueryShape {
  centerLat: number;
  centerLng: number;
  /** Riders stand uniformly within this distance of the centre. */
  spreadKm: number;
  radiusKm: number;
  limit: number;
}

/** Credentials for the hub's sockets, when it requires them: the worker mints one token per connection. */
export interface TokenSpec {
  secret: string;
}

export type LoadTask =
  | { kind: 'connect-drivers'; hub: HubAddress; firstId: number; count: number; concurrency: number; token?: TokenSpec }
  | { kind: 'disconnect-drivers' }
  /** Every connected driver sends `perDriverHz` frames a second, evenly phased. */
  | { kind: 'stream-rate'; perDriverHz: number; durationMs: number; warmupMs: number; center: { lat: number; lng: number; spreadKm: number } }
  /** Every connected driver keeps `window` frames unacknowledged at all times: the ceiling. */
  | { kind: 'stream-window'; window: number; durationMs: number; warmupMs: number; center: { lat: number; lng: number; spreadKm: number } }
  | { kind: 'connect-riders'; hub: HubAddress; count: number; token?: TokenSpec }
  | { kind: 'disconnect-riders' }
  | { kind: 'query-rate'; perSecond: number; durationMs: number; warmupMs: number; shape: QueryShape; seed: number }
  /** Opens `sockets` rider sockets with `perSocket` live nearby subscriptions each, at random points of the shape; done when every one has its first list. */
  | { kind: 'connect-subscribers'; hub: HubAddress; sockets: number; perSocket: number; shape: QueryShape; seed: number; token?: TokenSpec }
  /** Counts the updates the hub pushes to this worker's subscribers over a window, with each one's own delay. */
  | { kind: 'watch-updates'; durationMs: number; warmupMs: number }
  | { kind: 'disconnect-subscribers' }
  /** Connected drivers take every ride they are offered: accept at once, then arrive, start and complete it, so they are free again. */
  | { kind: 'answer-offers'; accept: boolean }
  | { kind: 'connect-ride-riders'; hub: HubAddress; count: number; token?: TokenSpec }
  | { kind: 'disconnect-ride-riders' }
  /**
   * Open loop: `perSecond` ride requests a second, each from an idle rider
   * (one ride at a time per rider) at a random pickup of the shape; latency
   * is from `ride.request` to the rider's `ride.assigned`.
   */
  | { kind: 'ride-rate'; perSecond: number; durationMs: number; warmupMs: number; shape: QueryShape; seed: number }
  /**
   * The ceiling: `inFlight` queries outstanding at all times across this
   * worker's riders, each rider asking at most `perSocketHz` times a second
   * so none goes over the hub's per-connection rate limit. A fixed number in
   * flight measures throughput at saturation without queueing the hub into
   * its timeouts.
   */
  | { kind: 'query-paced'; perSocketHz: number; inFlight: number; durationMs: number; warmupMs: number; shape: QueryShape; seed: number }
  /**
   * Plain HTTP requests: `post-location` is the original design's write (one
   * POST per update), `get-nearby` its read. Closed loop with `concurrency`
   * requests in flight, or open loop at `perSecond` when given.
   */
  | {
      kind: 'http';
      request: 'post-location' | 'get-nearby';
      host: string;
      port: number;
      concurrency: number;
      perSecond?: number;
      durationMs: number;
      warmupMs: number;
      firstDriverId: number;
      driverCount: number;
      shape: QueryShape;
      seed: number;
      /** For `post-location` on a hub with authentication: each request carries its driver's token. */
      token?: TokenSpec;
    };

export interface TaskResult {
  /** Operations started (frames sent, queries sent, requests made) after the warm-up. */
  sent: number;
  /** Operations completed (frames acked, answers received, 2xx responses) after the warm-up. */
  completed: number;
  /** Open-loop tasks: operations the schedule owed after the warm-up (0 for closed-loop tasks). */
  offered: number;
  /** Of those, sent on time (see LATE_AFTER_MS): below about 95% the generator, not the hub, set the pace. */
  onTime: number;
  /** How long the measured part ran, in ms. */
  measuredMs: number;
  latency: HistogramData;
  /** Problems by kind: error codes from the hub, HTTP statuses, unranked answers, closes. */
  errors: Record<string, number>;
  /** Extra counts: connected sockets, answer sources, empty answers. */
  counts: Record<string, number>;
  /** CPU this worker spent on the task, in ms of one core. */
  workerCpuMs: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'progress'; sent: number; completed: number; p99Ms: number | null }
  | { type: 'done'; result: TaskResult }
  | { type: 'failed'; error: string };
