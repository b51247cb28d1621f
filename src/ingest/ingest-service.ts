import type { GeoChanges, GeoIndex } from '../geo/types.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { LocationFrame } from '../protocol/messages.ts';
import type { CommittedDriver, Store } from '../store/types.ts';
import { AckDispatcher, type AckSink } from './ack-dispatcher.ts';
import { newDriverSeqs, type DriverSeqs } from './driver-seqs.ts';
import { IngestLane } from './ingest-lane.ts';
import type { PendingBatch } from './pending-batch.ts';

export type { AckSink } from './ack-dispatcher.ts';

/** A synchronous run of acks holds the event loop at most about this long before yielding to socket I/O. */
const ACK_SLICE_MS = 2;

export interface IngestOptions {
  store: Store;
  geo: GeoIndex;
  acks: AckSink;
  metrics: Metrics;
  logger: Logger;
  batchMaxFrames: number;
  flushMs: number;
  pendingMaxFrames: number;
  /** Batches in the database at once (default 1); each driver always goes to the same lane, so its frames stay in order. */
  batchesInFlight?: number;
  /** Called after each commit, before the index write: keeps caches in step with the database. */
  onCommitted?: (drivers: CommittedDriver[]) => void;
  /** Called when the index write after a commit fails: the index must be repaired later. */
  onGeoWriteFailed?: (error: Error, changes: GeoChanges) => void;
  /** False while the index is known to be down: writes are skipped, since a repair rebuilds it from the database anyway. */
  geoWritable?: () => boolean;
}

export type AcceptOutcome = 'queued' | 'duplicate' | 'overloaded';

/**
 * The batcher between sockets and stores. Frames queue in memory (bounded),
 * flush by size or time as one set-based database statement, and only then
 * are acknowledged; the geo index is written after the commit and never
 * holds an ack back. Drivers are partitioned over `batchesInFlight` lanes
 * (by id), each with one batch in flight: a driver's frames commit in order,
 * while the database works on several batches at once.
 */
export class IngestService {
  private readonly lanes: IngestLane[];
  private readonly seqs = new Map<number, DriverSeqs>();
  private readonly acks: AckDispatcher;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly options: IngestOptions) {
    const laneOptions = {
      store: options.store,
      metrics: options.metrics,
      logger: options.logger,
      batchMaxFrames: options.batchMaxFrames,
      flushMs: options.flushMs,
      onCommitted: (batch: PendingBatch, committed: CommittedDriver[]) => this.committed(batch, committed),
      draining: () => this.drainWaiters.length > 0,
    };
    this.lanes = Array.from({ length: Math.max(1, options.batchesInFlight ?? 1) }, () => new IngestLane(laneOptions));
    const { metrics } = options;
    this.acks = new AckDispatcher(options.acks, this.seqs, { latency: metrics.ackLatency, slices: metrics.ackSlices, framesAcked: metrics.framesAcked }, ACK_SLICE_MS);
  }

  /** Frames queued or in flight. */
  get pendingCount(): number {
    let count = 0;
    for (const lane of this.lanes) count += lane.size;
    return count;
  }

  /** The error of a lane's latest failed flush, cleared by its next commit: for readiness reporting. */
  get storeError(): Error | undefined {
    return this.lanes.find((lane) => lane.lastError)?.lastError;
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
      this.seqs.set(driverId, newDriverSeqs(committedSeq));
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
      known = newDriverSeqs(0);
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
    this.laneOf(driverId).addLocation(driverId, frame.seq, frame.lat, frame.lng, frame.ts ?? receivedAtMs, receivedAtMs);
    return 'queued';
  }

  acceptStatus(driverId: number, status: 'online' | 'offline', receivedAtMs: number): AcceptOutcome {
    if (this.pendingCount >= this.options.pendingMaxFrames) return 'overloaded';
    if (!this.seqs.has(driverId)) this.seqs.set(driverId, newDriverSeqs(0));
    this.laneOf(driverId).addStatus(driverId, status, receivedAtMs);
    return 'queued';
  }

  /** Resolves once everything accepted so far is committed and acked; while the database is down it waits, so callers bound it. */
  async drain(): Promise<void> {
    if (this.pendingCount > 0) {
      await new Promise<void>((resolve) => {
        this.drainWaiters.push(resolve);
        for (const lane of this.lanes) lane.flushNow();
      });
    }
    await this.acks.whenIdle();
  }

  /** Stops flushing and retrying: whatever is still pending was never acked and stays the drivers' to resend. */
  stop(): void {
    for (const lane of this.lanes) lane.stop();
  }

  private laneOf(driverId: number): IngestLane {
    return this.lanes[driverId % this.lanes.length]!;
  }

  private committed(batch: PendingBatch, committed: CommittedDriver[]): void {
    for (const driver of committed) {
      const known = this.seqs.get(driver.id);
      if (!known) continue;
      known.committed = Math.max(known.committed, driver.lastSeq);
      known.accepted = Math.max(known.accepted, known.committed);
    }
    this.options.onCommitted?.(committed);
    // The index write is issued (not awaited) before the acks go out, so it reaches Redis first.
    this.writeIndex(committed);
    this.acks.dispatch(batch);
    this.options.metrics.pendingFrames.set(this.pendingCount);
    if (this.pendingCount === 0) this.resolveDrain();
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
      this.options.onGeoWriteFailed?.(error, changes);
    });
  }

  private resolveDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
