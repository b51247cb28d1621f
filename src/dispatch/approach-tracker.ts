/** A ride whose rider is watching its driver approach. */
export interface Approach {
  rideId: string;
  riderId: string;
}

/** A driver position as ingest committed it. */
export interface CommittedPosition {
  id: number;
  lat: number | null;
  lng: number | null;
  updatedAtMs: number;
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

  /** Calls `push` for each committed position of a tracked driver. */
  forEachApproach(committed: readonly CommittedPosition[], push: (approach: Approach, position: CommittedPosition) => void): void {
    if (this.byDriver.size === 0) return;
    for (const position of committed) {
      const approach = this.byDriver.get(position.id);
      if (approach && position.lat !== null && position.lng !== null) push(approach, position);
    }
  }
}
