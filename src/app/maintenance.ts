import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { startHistoryMaintenance } from '../sync/history-maintenance.ts';
import { startPositionVacuum } from '../sync/position-vacuum.ts';
import type { Stores } from './stores.ts';

export interface Maintenance {
  stop(): void;
}

/**
 * The hub's timers: dropping stale drivers from the index, reconciling the
 * index with the database, vacuuming the drivers table, and keeping history
 * partitions ahead of the clock (its first pass runs before this resolves, so
 * the partitions exist before the first frame). Index work is skipped while
 * the index is unhealthy: its recovery repairs it anyway.
 */
export async function startMaintenance(config: Config, stores: Stores, metrics: Metrics, logger: Logger): Promise<Maintenance> {
  const { geo, health } = stores;
  const history = await startHistoryMaintenance(stores.store, config.HISTORY_MAINTENANCE_INTERVAL_MS, metrics, logger);
  const sweeper = setInterval(
    () => {
      if (!health.usable) return;
      geo.removeStale(Date.now() - config.STALE_AFTER_MS).catch((error: Error) => {
        metrics.geoErrors.inc({ op: 'remove_stale' });
        health.reportFailure(error, 'remove_stale');
      });
    },
    Math.min(5000, Math.ceil(config.STALE_AFTER_MS / 3)),
  );
  const reconciler = setInterval(() => {
    if (!health.usable) return;
    stores.repairIndex().catch((error: Error) => health.reportFailure(error, 'reconcile'));
  }, config.RECONCILE_INTERVAL_MS);
  sweeper.unref();
  reconciler.unref();
  const vacuum = startPositionVacuum(stores.store, config.POSITIONS_VACUUM_INTERVAL_MS, metrics, logger);
  return {
    stop() {
      clearInterval(sweeper);
      clearInterval(reconciler);
      vacuum.stop();
      history.stop();
    },
  };
}
