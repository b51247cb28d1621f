import type { GeoChanges, GeoIndex } from '../geo/types.ts';
import type { DriverChange, Store } from '../store/types.ts';

/**
 * How far each pass reaches back behind the previous pass's read. A batch's
 * rows carry its transaction's start time but become visible only at its
 * commit, so a pass can miss rows stamped just before its own read; the next
 * pass looks again over this window. Longer than any healthy batch commit.
 */
export const RECONCILE_OVERLAP_MS = 5000;

export interface ReconcilePass {
  /** Drivers PostgreSQL reported changed since the previous pass. */
  checked: number;
  /** Index members those changes actually wrote or removed (older ones the index refused are not counted). */
  repaired: number;
  /** Time spent in the index's write. */
  indexMs: number;
}

/** The index write that makes each changed driver's index entry at least as new as its row. */
export function reconcileChangesOf(changes: readonly DriverChange[], freshSinceMs: number): GeoChanges {
  const removeLats: number[] = [];
  const removeLngs: number[] = [];
  const removeSeenAtMs: number[] = [];
  const write: GeoChanges = { ids: [], lats: [], lngs: [], seenAtMs: [], removeIds: [], removeLats, removeLngs, removeSeenAtMs };
  for (const change of changes) {
    if (change.lat === null || change.lng === null) continue;
    if (change.status === 'online') {
      // A stale row is left to the stale sweep; an upsert would be swept at once.
      if (change.updatedAtMs < freshSinceMs) continue;
      write.ids.push(change.id);
      write.lats.push(change.lat);
      write.lngs.push(change.lng);
      write.seenAtMs.push(change.updatedAtMs);
    } else {
      write.removeIds.push(change.id);
      removeLats.push(change.lat);
      removeLngs.push(change.lng);
      removeSeenAtMs.push(change.changedAtMs);
    }
  }
  return write;
}

/**
 * The periodic reconcile, incremental: each pass reads only the drivers
 * PostgreSQL saw change since the previous pass (a watermark on the
 * database's own clock, with RECONCILE_OVERLAP_MS of overlap) and writes them
 * to the index with freshness-conditional writes, so a pass costs what
 * changed, not the fleet, and can never put back a position older than one
 * a frame already indexed. The first pass covers every fresh driver.
 *
 * Damage that no row change records (a member deleted or planted in Redis
 * by hand) is the full repair's (index-repair.ts), which runs at start, after
 * an outage, and on its own slower audit timer.
 */
export function createIndexReconciler(store: Store, geo: GeoIndex, staleAfterMs: number) {
  let sinceMs: number | undefined;
  return async function reconcilePass(): Promise<ReconcilePass> {
    const freshSinceMs = Date.now() - staleAfterMs;
    const { changes, readAtMs } = await store.driversChangedSince(sinceMs ?? freshSinceMs);
    const write = reconcileChangesOf(changes, freshSinceMs);
    const startedAt = performance.now();
    const repaired = write.ids.length + write.removeIds.length > 0 ? await geo.apply(write) : 0;
    const indexMs = performance.now() - startedAt;
    // Advanced only once the write went through: a failed pass is redone in full by the next.
    sinceMs = Math.max(sinceMs ?? Number.NEGATIVE_INFINITY, readAtMs - RECONCILE_OVERLAP_MS);
    return { checked: changes.length, repaired, indexMs };
  };
}
