import { performance } from 'node:perf_hooks';
import { HubError } from './protocol/errors.ts';
import { eventLoopMonitor, STALL_MS } from './telemetry/event-loop-monitor.ts';

/** A call to a store that did not answer in time; the store counts as unavailable. */
export class DeadlineExceededError extends HubError {
  constructor(what: string, ms: number) {
    super('unavailable', `${what} did not answer within ${ms} ms`);
    this.name = 'DeadlineExceededError';
  }
}

interface Pending {
  /** performance.now() when the call was made. */
  startedAt: number;
  what: string;
  settled: boolean;
  reject(error: Error): void;
}

/**
 * Deadlines of one length for any number of calls, on one timer. Two rules
 * keep a busy process from blaming its store:
 *
 * - A verdict is given only after a poll phase: the timer schedules it with
 *   setImmediate, so a reply that had already arrived when the timer fired
 *   is read (and settles its call) before the call is judged.
 * - Time the event loop spent stalled does not count: a call's clock
 *   restarts when a stall ends (see EventLoopMonitor), because during a
 *   stall no reply could have been read, and a request made just before it
 *   may not even have been written yet. A stall still going on when the
 *   verdict is due (the monitor has not sampled for a while) counts too.
 *
 * Calls are judged in the order they were made, which for one connection
 * is also the order their replies come back in.
 */
export class DeadlineQueue {
  private readonly pending: Pending[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private dueAt = 0;
  private judgeScheduled = false;
  /** When this queue last saw a stall the shared monitor had not sampled yet (its own timer fired late, or the monitor is behind). */
  private localStallAt = Number.NEGATIVE_INFINITY;
  private readonly monitor = eventLoopMonitor();

  constructor(readonly ms: number) {}

  /** Settles with `work`, or rejects with DeadlineExceededError; the work goes on either way (a sent command cannot be taken back). */
  bound<T>(work: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Pending = { startedAt: performance.now(), what, settled: false, reject };
      this.pending.push(entry);
      this.arm();
      work.then(
        (value) => {
          if (entry.settled) return;
          entry.settled = true;
          this.dropSettled();
          resolve(value);
        },
        (error: unknown) => {
          if (entry.settled) return;
          entry.settled = true;
          this.dropSettled();
          reject(error);
        },
      );
    });
  }

  /** Calls still waiting for a reply. */
  get size(): number {
    let open = 0;
    for (let i = this.head; i < this.pending.length; i++) if (!this.pending[i]!.settled) open++;
    return open;
  }

  private clockStart(entry: Pending): number {
    return Math.max(entry.startedAt, this.monitor.lastStallEndedAt, this.localStallAt);
  }

  private arm(): void {
    if (this.judgeScheduled || this.head >= this.pending.length) return;
    // A timer armed for an earlier call fires no later than this one's deadline; it is kept rather than cleared and set again per call.
    if (this.timer) {
      this.timer.ref();
      return;
    }
    this.dueAt = this.clockStart(this.pending[this.head]!) + this.ms;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, this.dueAt - performance.now()));
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = performance.now();
    if (now - this.dueAt >= STALL_MS) this.localStallAt = now;
    this.judgeScheduled = true;
    setImmediate(() => this.judge());
  }

  private judge(): void {
    this.judgeScheduled = false;
    const now = performance.now();
    // A stall in this very turn (a long poll phase between the timer and now) has no monitor sample yet;
    // a reply may have landed during it unread, so it restarts the clock like any other stall.
    if (now - this.monitor.lastSampleAt >= STALL_MS) this.localStallAt = now;
    this.dropSettled();
    while (this.head < this.pending.length) {
      const entry = this.pending[this.head]!;
      if (!entry.settled) {
        if (now - this.clockStart(entry) < this.ms) break;
        entry.settled = true;
        entry.reject(new DeadlineExceededError(entry.what, this.ms));
      }
      this.head++;
    }
    this.compact();
    this.arm();
  }

  /** Replies come back in order, so settled calls gather at the head. */
  private dropSettled(): void {
    while (this.head < this.pending.length && this.pending[this.head]!.settled) this.head++;
    this.compact();
    // Nothing left to judge: the timer may fire idle, but must not keep the process alive.
    if (this.head === this.pending.length) this.timer?.unref();
  }

  private compact(): void {
    if (this.head === this.pending.length) {
      this.pending.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.pending.length) {
      this.pending.splice(0, this.head);
      this.head = 0;
    }
  }
}

/**
 * Settles with `work`, or rejects once `ms` of the process's responsive
 * time have passed (see DeadlineQueue). The work itself goes on; its late
 * outcome is ignored.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new DeadlineQueue(ms).bound(work, what);
}
