import type { GeoChanges, GeoEntry, GeoIndex } from '../geo/types.ts';
import type { Logger } from '../logger.ts';
import type { DriverPosition, Store } from '../store/types.ts';

export interface RepairReport {
  /** Fresh online drivers in PostgreSQL, each compared with the index. */
  checked: number;
  upserted: number;
  removed: number;
  /** Members actually written or removed: writes older than what the index held by then were refused. */
  applied: number;
  /** Time spent reading and writing the index. */
  indexMs: number;
}

function agrees(held: GeoEntry, truth: DriverPosition): boolean {
  return !held.broken && held.lat === truth.lat && held.lng === truth.lng && held.seenAtMs >= truth.updatedAtMs;
}

/**
 * Makes the geo index agree with PostgreSQL: every fresh online driver at
 * its committed position and last-seen time, once, and nothing else. It heals
 * whatever happened behind the hub's back: a Redis restart, writes lost
 * during an outage, rows changed by other writers or other hubs, a driver
 * left in two cells by writes that crossed, hand-made corruption. Only the
 * differences are written, so a pass over a healthy index costs two reads
 * and no writes.
 *
 * The index is read before the database. A driver that comes online between
 * the two reads is then in the database read and gets written; one that
 * comes online after both is absent from the index snapshot and is left
 * alone, never removed as a ghost.
 */
export async function repairIndex(store: Store, geo: GeoIndex, staleAfterMs: number, logger: Logger): Promise<RepairReport> {
  const readStartedAt = performance.now();
  const indexed = await geo.entries();
  const readMs = performance.now() - readStartedAt;
  const positions = await store.onlinePositions(Date.now() - staleAfterMs);
  const held = new Map<number, GeoEntry[]>();
  for (const entry of indexed) {
    const copies = held.get(entry.id);
    if (copies) copies.push(entry);
    else held.set(entry.id, [entry]);
  }
  const removeLats: number[] = [];
  const removeLngs: number[] = [];
  const removeSeenAtMs: number[] = [];
  // Complete members as new as their row too: a structure deleted by hand leaves the times equal.
  const changes: GeoChanges = { ids: [], lats: [], lngs: [], seenAtMs: [], removeIds: [], removeLats, removeLngs, removeSeenAtMs, completeEqual: true };
  // As of the time this pass read: a copy refreshed since then stays.
  const remove = (entry: GeoEntry) => {
    changes.removeIds.push(entry.id);
    removeLats.push(entry.lat);
    removeLngs.push(entry.lng);
    removeSeenAtMs.push(entry.seenAtMs);
  };
  const wanted = new Set<number>();
  for (const position of positions) {
    wanted.add(position.id);
    const copies = held.get(position.id) ?? [];
    if (copies.length === 1 && agrees(copies[0]!, position)) continue;
    // Written where it belongs; every copy is taken out where it is (the index
    // leaves out a removal in the cell the same write upserts the driver to).
    changes.ids.push(position.id);
    changes.lats.push(position.lat);
    changes.lngs.push(position.lng);
    changes.seenAtMs.push(position.updatedAtMs);
    for (const copy of copies) remove(copy);
  }
  for (const entry of indexed) if (!wanted.has(entry.id)) remove(entry);
  const writeStartedAt = performance.now();
  const applied = changes.ids.length > 0 || changes.removeIds.length > 0 ? await geo.apply(changes) : 0;
  const indexMs = readMs + performance.now() - writeStartedAt;
  const report = { checked: positions.length, upserted: changes.ids.length, removed: changes.removeIds.length, applied, indexMs };
  if (report.upserted > 0 || report.removed > 0) logger.info(report, 'geo index repaired from the database');
  else logger.debug(report, 'geo index agrees with the database');
  return report;
}
