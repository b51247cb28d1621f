import { VIOLATION_KINDS, type ViolationKind } from '../core/answer-check.ts';
import { LatencyHistogram, type LatencySummary } from '../lib/latency-histogram.ts';

export { VIOLATION_KINDS, type LatencySummary, type ViolationKind };

/** One status-line's worth: rates and percentiles since the previous snapshot, gauges as of now. */
export interface StatsSnapshot {
  elapsedS: number;
  windowS: number;
  drivers: number;
  riders: number;
  connectedDrivers: number;
  offlineDrivers: number;
  connectedRiders: number;
  framesSentPerS: number;
  framesAckedPerS: number;
  ackP50Ms: number | null;
  ackP99Ms: number | null;
  nearbyPerS: number;
  nearbyP50Ms: number | null;
  nearbyP99Ms: number | null;
  bufferedFrames: number;
  /** Totals so far: rides requested, assigned and completed. */
  ridesRequested: number;
  ridesAssigned: number;
  ridesCompleted: number;
  errors: number;
  violations: number;
}

export interface Summary {
  durationS: number;
  drivers: number;
  riders: number;
  frames: {
    sent: number;
    resent: number;
    acked: number;
    /** Acknowledged by a hello's lastSeq after a reconnect rather than by an ack. */
    resumed: number;
    /** Evicted from a full buffer before the hub acknowledged them. */
    dropped: number;
    /** Still unacknowledged when the run stopped. */
    unacked: number;
    statusSent: number;
    sentPerS: number;
    ackedPerS: number;
  };
  ackLatencyMs: LatencySummary;
  nearby: {
    sent: number;
    answered: number;
    perS: number;
    meanDrivers: number;
    latencyMs: LatencySummary;
    /** Answers per `source` the hub named: shows when reads fell back from Redis to SQL. */
    sources: Record<string, number>;
  };
  /** driversReplaced: drivers another client took over (4001); they stop rather than take the driver back. */
  connections: { reconnects: number; disconnects: number; offlineEpisodes: number; driversReplaced: number };
  rides: {
    offers: { received: number; accepted: number; declined: number };
    /** As the drivers saw them. */
    driven: number;
    completed: number;
    cancelled: number;
    /** As the riders saw them. */
    requested: number;
    assigned: number;
    unmatched: number;
    /** From ride.request to ride.assigned, at the rider. */
    assignLatencyMs: LatencySummary;
  };
  /** Every error by code, violations included under `violation.<kind>`. */
  errors: Record<string, number>;
  errorCount: number;
  violations: Record<ViolationKind, number>;
  violationCount: number;
}

export interface Counters {
  /** Location frames written to a socket, resends included. */
  framesSent: number;
  framesResent: number;
  framesAcked: number;
  framesResumed: number;
  framesDropped: number;
  statusSent: number;
  nearbySent: number;
  nearbyAnswered: number;
  /** Drivers across all answers: empty answers pass every check, so this shows the checks had material. */
  nearbyDriversReturned: number;
  reconnects: number;
  disconnects: number;
  offlineEpisodes: number;
  driversReplaced: number;
  /** Offers drivers received, and how they answered. */
  offersReceived: number;
  offersAccepted: number;
  offersDeclined: number;
  /** Rides drivers were assigned, drove to the end, or saw cancelled. */
  ridesDriven: number;
  ridesCompleted: number;
  ridesCancelled: number;
  /** Ride requests riders made, and how they ended for the riders. */
  ridesRequested: number;
  ridesAssigned: number;
  ridesUnmatched: number;
  /** Gauges, kept up to date by the clients. */
  connectedDrivers: number;
  offlineDrivers: number;
  connectedRiders: number;
  bufferedFrames: number;
}

interface Window {
  startedAt: number;
  framesSent: number;
  framesAcked: number;
  nearbyAnswered: number;
  ack: LatencyHistogram;
  nearby: LatencyHistogram;
}

/** Shared by every client of one run; single-threaded, so plain counters suffice. */
export class SimStats {
  readonly counters: Counters = {
    framesSent: 0,
    framesResent: 0,
    framesAcked: 0,
    framesResumed: 0,
    framesDropped: 0,
    statusSent: 0,
    nearbySent: 0,
    nearbyAnswered: 0,
    nearbyDriversReturned: 0,
    reconnects: 0,
    disconnects: 0,
    offlineEpisodes: 0,
    driversReplaced: 0,
    offersReceived: 0,
    offersAccepted: 0,
    offersDeclined: 0,
    ridesDriven: 0,
    ridesCompleted: 0,
    ridesCancelled: 0,
    ridesRequested: 0,
    ridesAssigned: 0,
    ridesUnmatched: 0,
    connectedDrivers: 0,
    offlineDrivers: 0,
    connectedRiders: 0,
    bufferedFrames: 0,
  };
  readonly ackLatency = new LatencyHistogram();
  readonly nearbyLatency = new LatencyHistogram();
  /** From a rider's ride.request to its ride.assigned. */
  readonly assignLatency = new LatencyHistogram();
  private readonly errorCounts = new Map<string, number>();
  private readonly sourceCounts = new Map<string, number>();
  private readonly violationCounts = Object.fromEntries(VIOLATION_KINDS.map((kind) => [kind, 0])) as Record<ViolationKind, number>;
  private readonly startedAt = performance.now();
  private window: Window;

  constructor(
    readonly drivers: number,
    readonly riders: number,
  ) {
    this.window = this.openWindow();
  }

  /** `latencyMs` is undefined for a frame acked without a timed send, e.g. one sent on an earlier connection. */
  frameAcked(latencyMs: number | undefined): void {
    this.counters.framesAcked += 1;
    if (latencyMs === undefined) return;
    this.ackLatency.record(latencyMs);
    this.window.ack.record(latencyMs);
  }

  nearbyAnswered(latencyMs: number, source: string): void {
    this.counters.nearbyAnswered += 1;
    this.sourceCounts.set(source, (this.sourceCounts.get(source) ?? 0) + 1);
    this.nearbyLatency.record(latencyMs);
    this.window.nearby.record(latencyMs);
  }

  rideAssigned(latencyMs: number): void {
    this.counters.ridesAssigned += 1;
    this.assignLatency.record(latencyMs);
  }

  error(code: string): void {
    this.errorCounts.set(code, (this.errorCounts.get(code) ?? 0) + 1);
  }

  violation(kind: ViolationKind): void {
    this.violationCounts[kind] += 1;
    this.error(`violation.${kind}`);
  }

  get errorCount(): number {
    let total = 0;
    for (const count of this.errorCounts.values()) total += count;
    return total;
  }

  get violationCount(): number {
    return VIOLATION_KINDS.reduce((total, kind) => total + this.violationCounts[kind], 0);
  }

  /** Reports the window since the previous call and starts a new one. */
  snapshot(): StatsSnapshot {
    const now = performance.now();
    const window = this.window;
    const windowS = Math.max(1e-3, (now - window.startedAt) / 1000);
    const c = this.counters;
    this.window = this.openWindow();
    return {
      elapsedS: (now - this.startedAt) / 1000,
      windowS,
      drivers: this.drivers,
      riders: this.riders,
      connectedDrivers: c.connectedDrivers,
      offlineDrivers: c.offlineDrivers,
      connectedRiders: c.connectedRiders,
      framesSentPerS: (c.framesSent - window.framesSent) / windowS,
      framesAckedPerS: (c.framesAcked - window.framesAcked) / windowS,
      ackP50Ms: window.ack.percentile(50),
      ackP99Ms: window.ack.percentile(99),
      nearbyPerS: (c.nearbyAnswered - window.nearbyAnswered) / windowS,
      nearbyP50Ms: window.nearby.percentile(50),
      nearbyP99Ms: window.nearby.percentile(99),
      bufferedFrames: c.bufferedFrames,
      ridesRequested: c.ridesRequested,
      ridesAssigned: c.ridesAssigned,
      ridesCompleted: c.ridesCompleted,
      errors: this.errorCount,
      violations: this.violationCount,
    };
  }

  /** Totals over the whole run; rates are per second of the time up to `endedAt`. */
  summary(endedAt = performance.now()): Summary {
    const durationS = Math.max(1e-3, (endedAt - this.startedAt) / 1000);
    const c = this.counters;
    return {
      durationS,
      drivers: this.drivers,
      riders: this.riders,
      frames: {
        sent: c.framesSent,
        resent: c.framesResent,
        acked: c.framesAcked,
        resumed: c.framesResumed,
        dropped: c.framesDropped,
        unacked: c.bufferedFrames,
        statusSent: c.statusSent,
        sentPerS: c.framesSent / durationS,
        ackedPerS: c.framesAcked / durationS,
      },
      ackLatencyMs: this.ackLatency.summary(),
      nearby: {
        sent: c.nearbySent,
        answered: c.nearbyAnswered,
        perS: c.nearbyAnswered / durationS,
        meanDrivers: c.nearbyAnswered === 0 ? 0 : c.nearbyDriversReturned / c.nearbyAnswered,
        latencyMs: this.nearbyLatency.summary(),
        sources: Object.fromEntries(this.sourceCounts),
      },
      connections: { reconnects: c.reconnects, disconnects: c.disconnects, offlineEpisodes: c.offlineEpisodes, driversReplaced: c.driversReplaced },
      rides: {
        offers: { received: c.offersReceived, accepted: c.offersAccepted, declined: c.offersDeclined },
        driven: c.ridesDriven,
        completed: c.ridesCompleted,
        cancelled: c.ridesCancelled,
        requested: c.ridesRequested,
        assigned: c.ridesAssigned,
        unmatched: c.ridesUnmatched,
        assignLatencyMs: this.assignLatency.summary(),
      },
      errors: Object.fromEntries([...this.errorCounts].sort(([a], [b]) => a.localeCompare(b))),
      errorCount: this.errorCount,
      violations: { ...this.violationCounts },
      violationCount: this.violationCount,
    };
  }

  private openWindow(): Window {
    const c = this.counters;
    return {
      startedAt: performance.now(),
      framesSent: c.framesSent,
      framesAcked: c.framesAcked,
      nearbyAnswered: c.nearbyAnswered,
      ack: new LatencyHistogram(),
      nearby: new LatencyHistogram(),
    };
  }
}
