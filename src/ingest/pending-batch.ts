import type { LocationBatch } from '../store/types.ts';

/** Frames waiting for the next flush, kept as parallel arrays that bind straight to the batch statement. */
export class PendingBatch {
  /** Latest status per driver: a later status overrides an earlier one in the same batch. */
  readonly statuses = new Map<number, 'online' | 'offline'>();
  /** When the oldest entry arrived, for the time-based flush. */
  firstAtMs = 0;

  constructor(
    readonly driverIds: number[] = [],
    readonly seqs: number[] = [],
    readonly lats: number[] = [],
    readonly lngs: number[] = [],
    readonly recordedAtMs: number[] = [],
    readonly receivedAtMs: number[] = [],
  ) {}

  get frameCount(): number {
    return this.driverIds.length;
  }

  get isEmpty(): boolean {
    return this.driverIds.length === 0 && this.statuses.size === 0;
  }

  /** Frames plus status changes: what the pending bound counts. */
  get size(): number {
    return this.driverIds.length + this.statuses.size;
  }

  addLocation(driverId: number, seq: number, lat: number, lng: number, recordedAtMs: number, receivedAtMs: number): void {
    if (this.isEmpty) this.firstAtMs = receivedAtMs;
    this.driverIds.push(driverId);
    this.seqs.push(seq);
    this.lats.push(lat);
    this.lngs.push(lng);
    this.recordedAtMs.push(recordedAtMs);
    this.receivedAtMs.push(receivedAtMs);
  }

  addStatus(driverId: number, status: 'online' | 'offline', receivedAtMs: number): void {
    if (this.isEmpty) this.firstAtMs = receivedAtMs;
    this.statuses.set(driverId, status);
  }

  /**
   * Moves the first `count` frames, and every status, into a new batch; the
   * rest stay here. Statuses ride with the head: they are final states, not
   * ordered frames. splice shifts the rest in native code: copying frame by
   * frame made every flush of a deep queue cost as much as the whole queue.
   */
  takeHead(count: number): PendingBatch {
    const head = new PendingBatch(
      this.driverIds.splice(0, count),
      this.seqs.splice(0, count),
      this.lats.splice(0, count),
      this.lngs.splice(0, count),
      this.recordedAtMs.splice(0, count),
      this.receivedAtMs.splice(0, count),
    );
    for (const [driverId, status] of this.statuses) head.statuses.set(driverId, status);
    this.statuses.clear();
    head.firstAtMs = this.firstAtMs;
    return head;
  }

  toLocationBatch(): LocationBatch {
    return {
      driverIds: this.driverIds,
      seqs: this.seqs,
      lats: this.lats,
      lngs: this.lngs,
      recordedAtMs: this.recordedAtMs,
      receivedAtMs: this.receivedAtMs,
      statusDriverIds: [...this.statuses.keys()],
      statuses: [...this.statuses.values()],
    };
  }
}
