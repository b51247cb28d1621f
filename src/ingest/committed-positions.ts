import type { DriverStatus } from '../domain/driver.ts';

/**
 * What one commit wrote, for everyone who follows drivers as they move: the
 * profile cache (statuses), live nearby subscriptions, rides in progress, a
 * cross-process bus. Parallel arrays, one entry per driver the commit
 * touched (at most one per driver), so a batch of thousands of drivers is a
 * handful of allocations. The arrays are fresh per event: a listener may keep
 * them, and must not change them.
 */
export interface CommittedPositions {
  readonly ids: number[];
  /** The status after the commit: `online` drivers are searchable, others are not. */
  readonly statuses: DriverStatus[];
  /** The committed position; NaN for a driver that has never sent one. */
  readonly lats: number[];
  readonly lngs: number[];
  /** Last seen as the database recorded it (epoch ms): the freshness clock every index shares. */
  readonly seenAtMs: number[];
}
