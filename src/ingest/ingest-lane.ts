import { performance } from 'node:perf_hooks';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { CommittedDriver, Store } from '../store/types.ts';
import { PendingBatch } from './pending-batch.ts';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

export interface LaneOptions {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  batchMaxFrames: number;
  flushMs: number;
  /** A batch committed: acknowledge it, update caches and the index. */
  onCommitted(batch: PendingBatch, committed: CommittedDriver[]): void;
  /** Whether someone waits for everything to be committed: then the lane flushes at once instead of waiting for size or time. */
  draining(): boolean;
}

/**
 * One queue of frames with at most one batch in flight. The ingest service
 * runs several lanes and sends each driver to the same one, so a driver's
 * frames commit in order while another lane's batch is in the database.
 */
export class IngestLane {
  private queue = new PendingBatch();
  private inFlight: PendingBatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private stopped = false;

  constructor(private readonly options: LaneOptions) {}

  /** Frames and status changes queued or in flight. */
  get size(): number {
    return this.queue.size + (this.inFlight?.size ?? 0);
  }

  addLocation(driverId: number, seq: number, lat: number, lng: number, recordedAtMs: number, receivedAtMs: number): void {
    this.queue.addLocation(driverId, seq, lat, lng, recordedAtMs, receivedAtMs);
    this.scheduleFlush();
  }

  addStatus(driverId: number, status: 'online' | 'offline', receivedAtMs: number): void {
    this.queue.addStatus(driverId, status, receivedAtMs);
    this.scheduleFlush();
  }

  /** Flushes now if nothing is in flight (the in-flight commit flushes again when it ends). */
  flushNow(): void {
    if (!this.inFlight) this.flush();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private scheduleFlush(): void {
    if (this.inFlight || this.stopped || this.queue.isEmpty) return; // the in-flight commit reschedules when it ends
    if (this.queue.size >= this.options.batchMaxFrames) {
      this.flush();
      return;
    }
    if (this.timer) return;
    const waitMs = Math.max(0, this.queue.firstAtMs + this.options.flushMs - Date.now());
    this.timer = setTimeout(() => this.flush(), waitMs);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight || this.queue.isEmpty || this.stopped) return;
    const batch = this.takeBatch();
    this.inFlight = batch;
    void this.commit(batch);
  }

  /** Takes at most batchMaxFrames frames off the queue; the rest stay for the next flush. */
  private takeBatch(): PendingBatch {
    const whole = this.queue;
    if (whole.frameCount <= this.options.batchMaxFrames) {
      this.queue = new PendingBatch();
      return whole;
    }
    // The rest stays queued, still dated by the oldest frame it ever held.
    return whole.takeHead(this.options.batchMaxFrames);
  }

  private async commit(batch: PendingBatch): Promise<void> {
    const { metrics, store } = this.options;
    const started = performance.now();
    let committed: CommittedDriver[];
    try {
      committed = await store.writeBatch(batch.toLocationBatch());
    } catch (error) {
      metrics.storeErrors.inc({ op: 'write_batch' });
      this.options.logger.warn({ err: error, frames: batch.frameCount, retryInMs: this.retryMs }, 'batch commit failed; holding frames');
      // Keep the batch in flight and retry it as is: nothing behind it may commit first.
      // A retry after an ambiguous failure (the commit landed, the reply did not)
      // is safe: the statement writes only seqs above the committed last_seq.
      if (!this.stopped) setTimeout(() => void this.commit(batch), this.retryMs).unref();
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      return;
    }
    this.retryMs = FIRST_RETRY_MS;
    metrics.flushDuration.observe((performance.now() - started) / 1000);
    metrics.batchSize.observe(batch.frameCount);
    metrics.syncStoreRoundTrips(store.roundTrips);
    this.inFlight = undefined;
    this.options.onCommitted(batch, committed);
    if (this.queue.size >= this.options.batchMaxFrames || (this.options.draining() && !this.queue.isEmpty)) this.flush();
    else this.scheduleFlush();
  }
}
