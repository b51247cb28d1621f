import { performance } from 'node:perf_hooks';
import { BucketHistogram } from './bucket-histogram.ts';

/** How often the loop is sampled: a delay is how late this timer fired. */
const SAMPLE_MS = 1;

/**
 * A delay at least this long is a stall: whatever waited through it (a
 * deadline on a Redis reply, say) could not have been served by this
 * process, whoever was at fault.
 */
export const STALL_MS = 20;

/** Bounds in seconds: 1 ms steps where replies live, coarser out to stalls of seconds. */
const DELAY_BOUNDS_S = [
  0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01, 0.012, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1,
  2, 5,
];

/**
 * The process's event-loop delay, sampled every millisecond by a timer that
 * measures how late it runs. Unlike prom-client's monitor (10 ms floor, reset
 * on every scrape), the histogram keeps counting, so any two scrapes give
 * the distribution between them, and the time the last stall ended is kept
 * for deadlines that must not blame a store for the process's own pause.
 */
export class EventLoopMonitor {
  readonly delay = new BucketHistogram('hub_event_loop_delay_seconds', 'How late a 1 ms timer ran: event-loop delay, cumulative since start', DELAY_BOUNDS_S);
  /** performance.now() when the latest stall (a delay of STALL_MS or more) ended; -Infinity before any. */
  lastStallEndedAt = Number.NEGATIVE_INFINITY;
  /** performance.now() of the latest sample: long ago means a stall is going on right now, not yet seen by a sample. */
  lastSampleAt = performance.now();
  private previous = this.lastSampleAt;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  private sample(): void {
    const now = performance.now();
    const delayMs = Math.max(0, now - this.previous - SAMPLE_MS);
    this.previous = now;
    this.lastSampleAt = now;
    this.delay.observe(delayMs / 1000);
    if (delayMs >= STALL_MS) this.lastStallEndedAt = now;
  }
}

let shared: EventLoopMonitor | undefined;

/** The process has one event loop, so one monitor: every hub and deadline in the process shares it. */
export function eventLoopMonitor(): EventLoopMonitor {
  shared ??= new EventLoopMonitor();
  return shared;
}
