import type { DeclaredStatus, DriverRecord } from '../domain/driver.ts';
import type { GeoHealthReports, GeoIndex } from '../geo/types.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { HubError } from '../protocol/errors.ts';
import type { LocationFrame } from '../protocol/messages.ts';
import { Signal } from '../signal.ts';
import type { CommittedDriver, Store } from '../store/types.ts';
import { AckDispatcher } from './ack-dispatcher.ts';
import type { CommittedPositions } from './committed-positions.ts';
import { newDriverSeqs, type DriverSeqs } from './driver-seqs.ts';
import { indexChangesOf } from './index-changes.ts';
import { IngestLane } from './ingest-lane.ts';
import type { PendingBatch } from './pending-batch.ts';
import { ResumePoints } from './resume-points.ts';

/** A synchronous run of acks holds the event loop at most about this long before yielding to socket I/O. */
const ACK_SLICE_MS = 2;

export interface IngestOptions {
  store: Store;
  geo: GeoIndex;
  /** Index writes are skipped while it is down (a repair rebuilds it from the database), and their failures are reported here. */
  health: Pick<GeoHealthReports, 'state' | 'reportFailure'>;
  metrics: Metrics;
  logger: Logger;
  batchMaxFrames: number;
  flushMs: number;
  pendingMaxFrames: number;
  /** Batches in the database at once (default 1); each driver always goes to the same lane, so its frames stay in order. */
  batchesInFlight?: number;
}

export type AcceptOutcome = 'queued' | 'duplicate' | 'overloaded';

/**
 * The batcher between sockets and stores. Frames queue in memory (bounded),
 * flush by size or time as one set-based database statement, and only then
 * are acknowledged; the geo index is written after the commit and never
 * holds an ack back. Drivers are partitioned over `batchesInFlight` lanes
 * (by id), each with one batch in flight: a driver's frames commit in order,
 * while the database works on several batches at once.
 *
 * Ingest never touches a socket: it publishes what became durable, and the
 * transport (acks), the profile cache and later subscribers listen.
 */
export class IngestService {
  /**
   * `(driverId, seq)`: every frame of the driver up to seq is committed.
   * Emitted per driver after each commit (in slices, see AckDispatcher), and
   * at once for a resent frame that is already durable.
   */
  readonly acks = new Signal<[driverId: number, seq: number]>();
  /**
   * The drivers a commit wrote (a batch, or a direct REST write): emitted
   * before the index write and the acks, once per commit, arrays inside.
   */
  readonly committed = new Signal<[CommittedPositions]>();
  /**
   * The same event once the geo index holds it (or its write failed, or was
   * skipped while the index is down, when searches read PostgreSQL): from
   * then on a search sees the commit. Live nearby listens here, so a search
   * that a change calls for finds that change.
   */
  readonly indexed = new Signal<[CommittedPositions]>();
  private readonly lanes: IngestLane[];
  private readonly seqs = new Map<number, DriverSeqs>();
  private readonly ackDispatcher: AckDispatcher;
  private readonly resumePoints: ResumePoints;
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly options: IngestOptions) {
    const laneOptions = {
      store: options.store,
      metrics: options.metrics,
      logger: options.logger,
      batchMaxFrames: options.batchMaxFrames,
      flushMs: options.flushMs,
      onCommitted: (batch: PendingBatch, committed: CommittedDriver[]) => this.onBatchCommitted(batch, committed),
      draining: () => this.drainWaiters.length > 0,
    };
    this.lanes = Array.from({ length: Math.max(1, options.batchesInFlight ?? 1) }, () => new IngestLane(laneOptions));
    const { metrics } = options;
    this.resumePoints = new ResumePoints(options.store, (error, lookups) => {
      metrics.storeErrors.inc({ op: 'resume_point' });
      options.logger.warn({ err: error, drivers: lookups }, 'resume points unavailable; those drivers must reconnect later');
    });
    this.ackDispatcher = new AckDispatcher(
      { ack: this.acks.emit },
      this.seqs,
      { latency: metrics.ackLatency, slices: metrics.ackSlices, framesAcked: metrics.framesAcked },
      ACK_SLICE_MS,
    );
  }

  /** Frames queued or in flight. */
  get pendingCount(): number {
    let count = 0;
    for (const lane of this.lanes) count += lane.size;
    return count;
  }

  /** The driver's durable seq (what `hello.lastSeq` says), or null when no such driver exists. */
  async resumePoint(driverId: number): Promise<number | null> {
    try {
      return await this.resumePoints.lookup(driverId);
    } catch {
      throw new HubError('unavailable', 'the database is unavailable; reconnect shortly', 1000);
    }
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
      if (frame.seq <= known.committed) this.acks.emit(driverId, known.committed);
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

  acceptStatus(driverId: number, status: DeclaredStatus, receivedAtMs: number): AcceptOutcome {
    if (this.pendingCount >= this.options.pendingMaxFrames) return 'overloaded';
    if (!this.seqs.has(driverId)) this.seqs.set(driverId, newDriverSeqs(0));
    this.laneOf(driverId).addStatus(driverId, status, receivedAtMs);
    return 'queued';
  }

  /**
   * The original design's per-request write (REST): one statement, then the
   * same committed event and index write as a batch. Null for an unknown driver.
   */
  async writeNow(driverId: number, lat: number, lng: number): Promise<DriverRecord | null> {
    const update = await this.options.store.updateLocation(driverId, lat, lng);
    if (!update) return null;
    const { driver, previousLat, previousLng } = update;
    this.publish([
      { id: driver.id, lastSeq: driver.lastSeq, status: driver.status, lat, lng, previousLat, previousLng, updatedAtMs: Date.parse(driver.updatedAt) },
    ]);
    return driver;
  }

  /** Resolves once everything accepted so far is committed and acked; while the database is down it waits, so callers bound it. */
  async drain(): Promise<void> {
    if (this.pendingCount > 0) {
      await new Promise<void>((resolve) => {
        this.drainWaiters.push(resolve);
        for (const lane of this.lanes) lane.flushNow();
      });
    }
    await this.ackDispatcher.whenIdle();
  }

  /** Stops flushing and retrying: whatever is still pending was never acked and stays the drivers' to resend. */
  stop(): void {
    for (const lane of this.lanes) lane.stop();
  }

  private laneOf(driverId: number): IngestLane {
    return this.lanes[driverId % this.lanes.length]!;
  }

  private onBatchCommitted(batch: PendingBatch, committed: CommittedDriver[]): void {
    for (const driver of committed) {
      const known = this.seqs.get(driver.id);
      if (!known) continue;
      known.committed = Math.max(known.committed, driver.lastSeq);
      known.accepted = Math.max(known.accepted, known.committed);
    }
    // The index write is issued (not awaited) before the acks go out, so it reaches Redis first.
    this.publish(committed);
    this.ackDispatcher.dispatch(batch);
    this.options.metrics.pendingFrames.set(this.pendingCount);
    if (this.pendingCount === 0) this.resolveDrain();
  }

  /** Emits the committed event, then writes the index (indexChangesOf: online drivers upserted and moved out of their previous cell, everyone else removed). */
  private publish(committed: CommittedDriver[]): void {
    const event: CommittedPositions = { ids: [], statuses: [], lats: [], lngs: [], seenAtMs: [] };
    for (const driver of committed) {
      event.ids.push(driver.id);
      event.statuses.push(driver.status);
      event.lats.push(driver.lat ?? Number.NaN);
      event.lngs.push(driver.lng ?? Number.NaN);
      event.seenAtMs.push(driver.updatedAtMs);
    }
    const changes = indexChangesOf(committed);
    this.committed.emit(event);
    const { health, metrics } = this.options;
    if (health.state === 'down') {
      this.indexed.emit(event);
      return;
    }
    metrics.geoPositionsWritten.inc(changes.ids.length);
    void this.options.geo
      .apply(changes)
      .catch((error: Error) => {
        metrics.geoErrors.inc({ op: 'apply' });
        health.reportFailure(error, 'apply');
      })
      .then(() => this.indexed.emit(event));
  }

  private resolveDrain(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
