import type { LocationBatch } from '../store/types.ts';

/** Frames waiting for the next flush, kept as parallel arrays that bind straight to the batch statement. */
export class PendingBatch {
  readonly driverIds: number[] = [];
  readonly seqs: number[] = [];
  readonly lats: number[] = [];
  readonly lngs: number[] = [];
  readonly recordedAtMs: number[] = [];
  readonly receivedAtMs: number[] = [];
  /** Latest status per driver: a later status overrides an earlier one in the same batch. */
  readonly statuses = new Map<number, 'online' | 'offline'>();
  /** When the oldest entry arrived, for the time-based flush. */
  firstAtMs = 0;

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
