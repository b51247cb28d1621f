import type { GeoChanges, GeoEntry, GeoIndex } from '../geo/types.ts';
import type { Logger } from '../logger.ts';
import type { DriverPosition, Store } from '../store/types.ts';

export interface RepairReport {
  /** Fresh online drivers in PostgreSQL, each compared with the index. */
  checked: number;
  upserted: number;
  removed: number;
}

function agrees(held: GeoEntry | undefined, truth: DriverPosition): boolean {
  return held !== undefined && held.lat === truth.lat && held.lng === truth.lng && held.seenAtMs >= truth.updatedAtMs;
}

/**
 * Makes the geo index agree with PostgreSQL: every fresh online driver at
 * its committed position and last-seen time, and nothing else. It heals
 * whatever happened behind the hub's back: a Redis restart, writes lost
 * during an outage, rows changed by other writers or other hubs, hand-made
 * corruption. Only the differences are written, so a pass over a healthy
 * index costs two reads and no writes.
 *
 * The index is read before the database. A driver that comes online between
 * the two reads is then in the database read and gets written; one that
 * comes online after both is absent from the index snapshot and is left
 * alone, never removed as a ghost.
 */
export async function repairIndex(store: Store, geo: GeoIndex, staleAfterMs: number, logger: Logger): Promise<RepairReport> {
  const indexed = await geo.entries();
  const positions = await store.onlinePositions(Date.now() - staleAfterMs);
  const held = new Map(indexed.map((entry) => [entry.id, entry]));
  const changes: GeoChanges = { ids: [], lats: [], lngs: [], seenAtMs: [], removeIds: [] };
  const wanted = new Set<number>();
  for (const position of positions) {
    wanted.add(position.id);
    if (agrees(held.get(position.id), position)) continue;
    changes.ids.push(position.id);
    changes.lats.push(position.lat);
    changes.lngs.push(position.lng);
    changes.seenAtMs.push(position.updatedAtMs);
  }
  for (const entry of indexed) if (!wanted.has(entry.id)) changes.removeIds.push(entry.id);
  if (changes.ids.length > 0 || changes.removeIds.length > 0) await geo.apply(changes);
  const report = { checked: positions.length, upserted: changes.ids.length, removed: changes.removeIds.length };
  if (report.upserted > 0 || report.removed > 0) logger.info(report, 'geo index repaired from the database');
  else logger.debug(report, 'geo index agrees with the database');
  return report;
}
