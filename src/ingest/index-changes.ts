import type { GeoChanges } from '../geo/types.ts';
import type { CommittedDriver } from '../store/types.ts';

/**
 * The geo index write that follows a commit: online drivers with a position
 * are upserted, every other touched driver is removed. Each carries where
 * the previous write put it (the position before the batch, read under the
 * batch's row lock), so a cell-split index moves a driver that crossed into
 * another cell out of the old one; NaN where it never had a position.
 */
export function indexChangesOf(committed: readonly CommittedDriver[]): GeoChanges {
  const previousLats: number[] = [];
  const previousLngs: number[] = [];
  const removeLats: number[] = [];
  const removeLngs: number[] = [];
  const removeSeenAtMs: number[] = [];
  const changes: GeoChanges = { ids: [], lats: [], lngs: [], seenAtMs: [], previousLats, previousLngs, removeIds: [], removeLats, removeLngs, removeSeenAtMs };
  for (const driver of committed) {
    const previousLat = driver.previousLat ?? Number.NaN;
    const previousLng = driver.previousLng ?? Number.NaN;
    if (driver.status === 'online' && driver.lat !== null && driver.lng !== null) {
      changes.ids.push(driver.id);
      changes.lats.push(driver.lat);
      changes.lngs.push(driver.lng);
      changes.seenAtMs.push(driver.updatedAtMs);
      previousLats.push(previousLat);
      previousLngs.push(previousLng);
    } else {
      // Taken out where it was indexed, and where this batch moved it, should the two differ.
      changes.removeIds.push(driver.id, driver.id);
      removeLats.push(previousLat, driver.lat ?? Number.NaN);
      removeLngs.push(previousLng, driver.lng ?? Number.NaN);
      // As of the status change: an older position written after it (a reconcile's) is refused.
      removeSeenAtMs.push(driver.updatedAtMs, driver.updatedAtMs);
    }
  }
  return changes;
}
