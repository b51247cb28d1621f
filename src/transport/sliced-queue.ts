import { performance } from 'node:perf_hooks';

/**
 * Runs queued jobs a few milliseconds at a time, yielding to socket I/O
 * (setImmediate) between runs. For bursts of work that arrive together and
 * need not finish together, such as thousands of upgrades in a reconnect
 * storm: done in one go they held the event loop for hundreds of
 * milliseconds, and every frame and query waited behind them.
 */
export class SlicedQueue {
  private jobs: Array<() => void> = [];
  private head = 0;
  private scheduled = false;
  private readonly runLater = () => {
    this.scheduled = false;
    this.run();
  };

  constructor(
    private readonly budgetMs: number,
    /** Called with each run's duration in seconds, for a histogram. */
    private readonly onRun: (seconds: number) => void = () => undefined,
  ) {}

  get size(): number {
    return this.jobs.length - this.head;
  }

  /** Queues a job; it runs in this loop turn's check phase or a later one, never synchronously. */
  push(job: () => void): void {
    this.jobs.push(job);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.runLater);
    }
  }

  private run(): void {
    const started = performance.now();
    while (this.head < this.jobs.length) {
      const job = this.jobs[this.head]!;
      this.jobs[this.head++] = noop;
      job();
      if (performance.now() - started >= this.budgetMs) break;
    }
    if (this.head === this.jobs.length) {
      this.jobs = [];
      this.head = 0;
    } else {
      if (this.head > 1024) {
        this.jobs = this.jobs.slice(this.head);
        this.head = 0;
      }
      this.scheduled = true;
      setImmediate(this.runLater);
    }
    this.onRun((performance.now() - started) / 1000);
  }
}

function noop(): void {}
