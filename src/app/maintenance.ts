import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { startHistoryMaintenance } from '../sync/history-maintenance.ts';
import { createIndexReconciler } from '../sync/index-reconcile.ts';
import { repairIndex } from '../sync/index-repair.ts';
import { startPositionVacuum } from '../sync/position-vacuum.ts';
import type { Stores } from './stores.ts';

export interface Maintenance {
  stop(): void;
}

type ReconcileKind = 'incremental' | 'audit';

/**
 * The hub's timers: dropping stale drivers from the index, reconciling the
 * index with the database (incrementally on RECONCILE_INTERVAL_MS, in full
 * on the slower audit timer), vacuuming the drivers table, and keeping
 * history partitions ahead of the clock (its first pass runs before this
 * resolves, so the partitions exist before the first frame). Index work is
 * skipped while the index is unhealthy: its recovery repairs it anyway.
 */
export async function startMaintenance(config: Config, stores: Stores, metrics: Metrics, logger: Logger): Promise<Maintenance> {
  const { geo, health, store } = stores;
  const history = await startHistoryMaintenance(store, config.HISTORY_MAINTENANCE_INTERVAL_MS, metrics, logger);
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

  const reconcilePass = createIndexReconciler(store, geo, config.STALE_AFTER_MS);
  const audit = async () => {
    const report = await repairIndex(store, geo, config.STALE_AFTER_MS, logger);
    return { checked: report.checked, repaired: report.applied, indexMs: report.indexMs };
  };
  // One pass of each kind at a time: a pass slower than its interval is skipped, not stacked.
  const running = new Set<ReconcileKind>();
  const runPass = (kind: ReconcileKind, pass: () => Promise<{ checked: number; repaired: number; indexMs: number }>) => {
    if (!health.usable || running.has(kind)) return;
    running.add(kind);
    const startedAt = performance.now();
    pass()
      .then(({ checked, repaired, indexMs }) => {
        metrics.reconcileDuration.observe({ pass: kind }, (performance.now() - startedAt) / 1000);
        metrics.reconcileIndexDuration.observe({ pass: kind }, indexMs / 1000);
        metrics.reconcileChecked.inc({ pass: kind }, checked);
        metrics.reconcileRepaired.inc({ pass: kind }, repaired);
        if (repaired > 0) logger.info({ pass: kind, checked, repaired, indexMs: Math.round(indexMs) }, 'geo index caught up with the database');
      })
      .catch((error: Error) => health.reportFailure(error, 'reconcile'))
      .finally(() => running.delete(kind));
  };
  const reconciler = setInterval(() => runPass('incremental', reconcilePass), config.RECONCILE_INTERVAL_MS);
  const auditor = setInterval(() => runPass('audit', audit), config.RECONCILE_AUDIT_INTERVAL_MS);
  sweeper.unref();
  reconciler.unref();
  auditor.unref();
  const vacuum = startPositionVacuum(store, config.POSITIONS_VACUUM_INTERVAL_MS, metrics, logger);
  return {
    stop() {
      clearInterval(sweeper);
      clearInterval(reconciler);
      clearInterval(auditor);
      vacuum.stop();
      history.stop();
    },
  };
}
