import type { CommittedPositions } from '../ingest/committed-positions.ts';

/** A ride whose rider is watching its driver approach. */
export interface Approach {
  rideId: string;
  riderId: string;
}

/**
 * Which drivers are on their way to a pickup (`assigned`) or waiting at it
 * (`arrived`), so their committed positions can be pushed to the rider as
 * `ride.driver`. Per committed batch this costs one map lookup per driver in
 * the batch, whatever the number of rides.
 */
export class ApproachTracker {
  private readonly byDriver = new Map<number, Approach>();

  get size(): number {
    return this.byDriver.size;
  }

  track(driverId: number, approach: Approach): void {
    this.byDriver.set(driverId, approach);
  }

  /** Stops pushing for the driver, if it is still on this ride. */
  untrack(driverId: number, rideId: string): void {
    if (this.byDriver.get(driverId)?.rideId === rideId) this.byDriver.delete(driverId);
  }

  /** Stops pushing for the driver whatever its ride: its positions are no longer committed on this process. */
  forget(driverId: number): void {
    this.byDriver.delete(driverId);
  }

  /** Calls `push` with the index in `committed` of each tracked driver's committed position. */
  forEachApproach(committed: CommittedPositions, push: (approach: Approach, index: number) => void): void {
    if (this.byDriver.size === 0) return;
    const { ids, lats } = committed;
    for (let i = 0; i < ids.length; i++) {
      const approach = this.byDriver.get(ids[i]!);
      // NaN: the driver has never sent a position.
      if (approach && !Number.isNaN(lats[i]!)) push(approach, i);
    }
  }
}
