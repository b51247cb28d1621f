import type { GeoChanges, GeoIndex } from '../geo/types.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/types.ts';

export interface RepairReport {
  upserted: number;
  removed: number;
}

/**
 * Makes the geo index agree with PostgreSQL: every fresh online driver at
 * its committed position, and nothing else. It heals whatever happened
 * behind the hub's back: a Redis restart, lost writes during an outage,
 * rows changed by other writers, hand-made corruption.
 */
export async function repairIndex(store: Store, geo: GeoIndex, staleAfterMs: number, logger: Logger): Promise<RepairReport> {
  const [positions, members] = await Promise.all([store.onlinePositions(Date.now() - staleAfterMs), geo.memberIds()]);
  const changes: GeoChanges = { ids: [], lats: [], lngs: [], seenAtMs: [], removeIds: [] };
  const wanted = new Set<number>();
  for (const position of positions) {
    wanted.add(position.id);
    changes.ids.push(position.id);
    changes.lats.push(position.lat);
    changes.lngs.push(position.lng);
    changes.seenAtMs.push(position.updatedAtMs);
  }
  for (const id of members) if (!wanted.has(id)) changes.removeIds.push(id);
  await geo.apply(changes);
  const report = { upserted: changes.ids.length, removed: changes.removeIds.length };
  logger.info(report, 'geo index repaired from the database');
  return report;
}
