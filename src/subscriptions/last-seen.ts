/**
 * When each online driver was last seen, oldest first. A Map iterates in
 * insertion order, and a sighting re-inserts its driver at the end, so the
 * stale ones are always at the front: finding them costs one step per
 * driver that went stale plus one, never a pass over the fleet.
 */
export class LastSeen {
  private readonly seenAtMs = new Map<number, number>();

  get size(): number {
    return this.seenAtMs.size;
  }

  /** A committed sighting. Times come from the database clock and only move forward per driver. */
  saw(driverId: number, atMs: number): void {
    this.seenAtMs.delete(driverId);
    this.seenAtMs.set(driverId, atMs);
  }

  /** Starts watching a driver met through a search rather than a commit, unless a sighting is already known. */
  adopt(driverId: number, atMs: number): void {
    if (!this.seenAtMs.has(driverId)) this.seenAtMs.set(driverId, atMs);
  }

  /** The driver went offline or busy: nothing to expire. */
  forget(driverId: number): void {
    this.seenAtMs.delete(driverId);
  }

  /** Removes and returns every driver last seen at or before `cutoffMs`. */
  expire(cutoffMs: number): number[] {
    const expired: number[] = [];
    for (const [driverId, atMs] of this.seenAtMs) {
      // Sightings from one batch share a clock, but batches may commit a few
      // milliseconds out of order: the scan stops at the first fresh entry,
      // so such a driver expires at most that much late.
      if (atMs > cutoffMs) break;
      expired.push(driverId);
    }
    for (const driverId of expired) this.seenAtMs.delete(driverId);
    return expired;
  }
}
