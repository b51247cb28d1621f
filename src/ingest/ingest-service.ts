import { performance } from 'node:perf_hooks';
import type { GeoChanges, GeoIndex } from '../geo/types.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { LocationFrame } from '../protocol/messages.ts';
import type { CommittedDriver, Store } from '../store/types.ts';
import { PendingBatch } from './pending-batch.ts';

/** Where acknowledgements go: the transport implements it, so ingest never touches a socket. */
export interface AckSink {
  ack(driverId: number, seq: number): void;
}

export interface IngestOptions {
  store: Store;
  geo: GeoIndex;
  acks: AckSink;
  metrics: Metrics;
  logger: Logger;
  batchMaxFrames: number;
  flushMs: number;
  pendingMaxFrames: number;
  /** Called after each commit, before the index write: keeps caches in step with the database. */
  onCommitted?: (drivers: CommittedDriver[]) => void;
  /** Called when the index write after a commit fails: the index must be repaired later. */
  onGeoWriteFailed?: (error: Error) => void;
  /** False while the index is known to be down: writes are skipped, since a repair rebuilds it from the database anyway. */
  geoWritable?: () => boolean;
}

export type AcceptOutcome = 'queued' | 'duplicate' | 'overloaded';

/** Per-driver sequence bookkeeping. */
interface DriverSeqs {
  /** Highest seq known committed in PostgreSQL. */
  committed: number;
  /** Highest seq accepted into the queue or in flight. */
  accepted: number;
  /**
   * The first seq refused as `overloaded`, until the driver resends it. Later
   * seqs are refused too: committing them would move last_seq past the
   * refused one, the resend would then count as a duplicate, and the ack of a
   * later seq would claim a frame that was never written.
   */
  resendFrom?: number;
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

/**
 * The batcher between sockets and stores. Frames queue in memory (bounded),
 * flush by size or time as one set-based database statement, and only then
 * are acknowledged; the geo index is written after the commit and never
 * holds an ack back. One batch is in flight at a time, which keeps each
 * driver's frames in order and lets the queue grow into the next batch
 * while the database works.
 */
export class IngestService {
  private queue = new PendingBatch();
  private inFlight: PendingBatch | undefined;
  private readonly seqs = new Map<number, DriverSeqs>();
  private timer: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private drainWaiters: Array<() => void> = [];
  private lastFlushError: Error | undefined;
  private stopped = false;

  constructor(private readonly options: IngestOptions) {}

  /** Frames queued or in flight. */
  get pendingCount(): number {
    return this.queue.size + (this.inFlight?.size ?? 0);
  }

  /** The error of the latest failed flush, cleared by the next commit: for readiness reporting. */
  get storeError(): Error | undefined {
    return this.lastFlushError;
  }

  /** Records a driver's durable seq when its socket opens (the `hello.lastSeq`). */
  registerDriver(driverId: number, committedSeq: number): void {
    const known = this.seqs.get(driverId);
    if (known) {
      known.committed = Math.max(known.committed, committedSeq);
      known.accepted = Math.max(known.accepted, known.committed);
      // The new socket's hello tells the driver to resend from its durable seq.
      known.resendFrom = undefined;
    } else {
      this.seqs.set(driverId, { committed: committedSeq, accepted: committedSeq });
    }
  }

  /** Forgets a driver whose socket closed, unless frames of it are still on their way to the database. */
  releaseDriver(driverId: number): void {
    const known = this.seqs.get(driverId);
    if (known && known.accepted === known.committed) this.seqs.delete(driverId);
  }

  committedSeq(driverId: number): number {
    return this.seqs.get(driverId)?.committed ?? 0;
  }

  /** A location frame refused before ingest saw it (rate limit): later seqs wait for its resend, as after `overloaded`. */
  refuseLocation(driverId: number, seq: number): void {
    const known = this.seqs.get(driverId);
    if (!known || seq <= known.accepted) return;
    known.resendFrom = Math.min(known.resendFrom ?? seq, seq);
  }

  acceptLocation(driverId: number, frame: LocationFrame, receivedAtMs: number): AcceptOutcome {
    let known = this.seqs.get(driverId);
    if (!known) {
      known = { committed: 0, accepted: 0 };
      this.seqs.set(driverId, known);
    }
    if (frame.seq <= known.accepted) {
      this.options.metrics.duplicateFrames.inc();
      // Already durable: ack again at once. Still in flight: the flush's ack covers it.
      if (frame.seq <= known.committed) this.options.acks.ack(driverId, known.committed);
      return 'duplicate';
    }
    if (known.resendFrom !== undefined && frame.seq > known.resendFrom) return 'overloaded';
    if (this.pendingCount >= this.options.pendingMaxFrames) {
      known.resendFrom ??= frame.seq;
      return 'overloaded';
    }
    if (frame.seq === known.resendFrom) known.resendFrom = undefined;
    known.accepted = frame.seq;
    this.queue.addLocation(driverId, frame.seq, frame.lat, frame.lng, frame.ts ?? receivedAtMs, receivedAtMs);
    this.scheduleFlush();
    return 'queued';
  }

  acceptStatus(driverId: number, status: 'online' | 'offline', receivedAtMs: number): AcceptOutcome {
    if (this.pendingCount >= this.options.pendingMaxFrames) return 'overloaded';
    if (!this.seqs.has(driverId)) this.seqs.set(driverId, { committed: 0, accepted: 0 });
    this.queue.addStatus(driverId, status, receivedAtMs);
    this.scheduleFlush();
    return 'queued';
  }

  /** Resolves once everything accepted so far is committed and acked; while the database is down it waits, so callers bound it. */
  drain(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      if (!this.inFlight) this.flush();
    });
  }

  /** Stops flushing and retrying: whatever is still pending was never acked and stays the drivers' to resend. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private scheduleFlush(): void {
    if (this.inFlight || this.stopped) return; // the in-flight flush reschedules when it ends
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
    const max = this.options.batchMaxFrames;
    const whole = this.queue;
    if (whole.frameCount <= max) {
      this.queue = new PendingBatch();
      return whole;
    }
    // The rest stays queued, still dated by the oldest frame it ever held.
    return whole.takeHead(max);
  }

  private async commit(batch: PendingBatch): Promise<void> {
    const { metrics, store } = this.options;
    const started = performance.now();
    let committed: CommittedDriver[];
    try {
      committed = await store.writeBatch(batch.toLocationBatch());
    } catch (error) {
      metrics.storeErrors.inc({ op: 'write_batch' });
      this.lastFlushError = error as Error;
      this.options.logger.warn({ err: error, frames: batch.frameCount, retryInMs: this.retryMs }, 'batch commit failed; holding frames');
      // Keep the batch in flight and retry it as is: nothing behind it may commit first.
      // A retry after an ambiguous failure (the commit landed, the reply did not)
      // is safe: the statement writes only seqs above the committed last_seq.
      if (!this.stopped) setTimeout(() => void this.commit(batch), this.retryMs).unref();
      this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
      return;
    }
    this.retryMs = FIRST_RETRY_MS;
    this.lastFlushError = undefined;
    metrics.flushDuration.observe((performance.now() - started) / 1000);
    metrics.batchSize.observe(batch.frameCount);
    metrics.syncStoreRoundTrips(store.roundTrips);
    this.inFlight = undefined;
    this.acknowledge(committed, batch);
    this.options.onCommitted?.(committed);
    this.writeIndex(committed);
    metrics.pendingFrames.set(this.pendingCount);
    if (this.pendingCount === 0) this.resolveDrain();
    else if (this.queue.size >= this.options.batchMaxFrames || this.drainWaiters.length > 0) this.flush();
    else this.scheduleFlush();
  }

  private acknowledge(committed: CommittedDriver[], batch: PendingBatch): void {
    for (const driver of committed) {
      const known = this.seqs.get(driver.id);
      if (known) {
        known.committed = Math.max(known.committed, driver.lastSeq);
        known.accepted = Math.max(known.accepted, known.committed);
      }
      this.options.acks.ack(driver.id, driver.lastSeq);
    }
    this.options.metrics.framesAcked.inc(batch.frameCount);
  }

  private writeIndex(committed: CommittedDriver[]): void {
    if (this.options.geoWritable?.() === false) return;
    const changes: GeoChanges = { ids: [], lats: [], lngs: [], seenAtMs: [], removeIds: [] };
    for (const driver of committed) {
      if (driver.status === 'online' && driver.lat !== null && driver.lng !== null) {
        changes.ids.push(driver.id);
        changes.lats.push(driver.lat);
        changes.lngs.push(driver.lng);
        changes.seenAtMs.push(driver.updatedAtMs);
      } else {
        changes.removeIds.push(driver.id);
      }
    }
    this.options.metrics.geoPositionsWritten.inc(changes.ids.length);
    this.options.geo.apply(changes).catch((error: Error) => {
      this.options.metrics.geoErrors.inc({ op: 'apply' });
      this.options.onGeoWriteFailed?.(error);
    });
  }

  private resolveDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
