import { LatencyHistogram } from '../../clients/lib/latency-histogram.ts';
import type { TaskResult, WorkerMessage } from './load-protocol.ts';

export type ProgressSink = (message: WorkerMessage) => void;

const PROGRESS_EVERY_MS = 1000;
/**
 * An open-loop operation sent later than this after its due time was not
 * delivered at the offered rate: the generator fell behind (its own CPU or
 * event loop), and what it measured meanwhile includes its own backlog.
 */
export const LATE_AFTER_MS = 25;

/**
 * The bookkeeping every load task shares: a warm-up during which nothing is
 * counted, then counts, errors and a latency histogram, with a progress
 * report every second.
 */
export class TaskRun {
  readonly latency = new LatencyHistogram();
  readonly errors: Record<string, number> = {};
  readonly counts: Record<string, number> = {};
  sent = 0;
  completed = 0;
  /** Open-loop tasks: operations the schedule owed over the measured window. */
  offered = 0;
  /** Of those, handled within LATE_AFTER_MS of their due time. */
  onTime = 0;
  private readonly measuredFrom: number;
  private measuredUntil: number | undefined;
  private readonly cpuAtStart = process.cpuUsage();
  private readonly progressTimer: NodeJS.Timeout;

  constructor(warmupMs: number, progress: ProgressSink) {
    this.measuredFrom = performance.now() + warmupMs;
    this.progressTimer = setInterval(
      () => progress({ type: 'progress', sent: this.sent, completed: this.completed, p99Ms: this.latency.percentile(99) }),
      PROGRESS_EVERY_MS,
    );
  }

  /** True once the warm-up is over and until the run stops sending. */
  get measuring(): boolean {
    return this.wasMeasured(performance.now());
  }

  /** Whether an operation started at `startedAt` (performance.now()) counts: completions during the drain still do. */
  wasMeasured(startedAt: number): boolean {
    return startedAt >= this.measuredFrom && (this.measuredUntil === undefined || startedAt <= this.measuredUntil);
  }

  /** Marks the end of sending; completions that arrive during the drain still count. */
  stopSending(): void {
    this.measuredUntil = performance.now();
  }

  /**
   * Marks the end of sending, then waits up to `timeoutMs` for what the
   * window left in flight; returns how much of it never came back.
   */
  async stopAndDrain(outstanding: () => number, timeoutMs: number): Promise<number> {
    this.stopSending();
    await waitUntil(() => outstanding() === 0, timeoutMs);
    return outstanding();
  }

  /**
   * One operation of an open-loop schedule, due at `dueAt` (performance.now()),
   * handled now: sent, or skipped for a reason of the hub's (counted as an
   * error), which is not the generator's lateness.
   */
  scheduled(dueAt: number): void {
    if (!this.wasMeasured(dueAt)) return;
    this.offered += 1;
    if (performance.now() - dueAt <= LATE_AFTER_MS) this.onTime += 1;
  }

  error(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }

  count(kind: string, by = 1): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + by;
  }

  finish(): TaskResult {
    clearInterval(this.progressTimer);
    const cpu = process.cpuUsage(this.cpuAtStart);
    const until = this.measuredUntil ?? performance.now();
    return {
      sent: this.sent,
      completed: this.completed,
      offered: this.offered,
      onTime: this.onTime,
      measuredMs: Math.max(0, until - this.measuredFrom),
      latency: this.latency.toJSON(),
      errors: this.errors,
      counts: this.counts,
      workerCpuMs: (cpu.user + cpu.system) / 1000,
    };
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `done()` holds or `timeoutMs` passes, checking every 20 ms. */
export async function waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done() && performance.now() < deadline) await sleep(20);
}
