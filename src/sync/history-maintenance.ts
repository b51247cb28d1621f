import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../store/types.ts';

export interface HistoryMaintenanceTimer {
  stop(): void;
}

/**
 * Keeps driver_locations' daily partitions ahead of the clock and drops the
 * ones past retention (see drizzle/0006). Runs once at start, then on its
 * interval; every hub runs it, and the database lets one pass at a time do
 * the work. A failed pass costs nothing urgent: partitions exist days ahead,
 * and anything outside them lands in the default partition.
 */
export async function startHistoryMaintenance(store: Store, intervalMs: number, metrics: Metrics, logger: Logger): Promise<HistoryMaintenanceTimer> {
  let running = false;
  const pass = async () => {
    if (running) return;
    running = true;
    try {
      const report = await store.maintainHistory(Date.now());
      if (report.created.length + report.dropped.length + report.busy.length > 0) logger.info(report, 'history partitions maintained');
      if (report.busy.length > 0) logger.warn({ busy: report.busy }, 'some history partitions were locked by readers; the next pass retries them');
    } catch (error) {
      metrics.storeErrors.inc({ op: 'history_maintenance' });
      logger.warn({ err: error }, 'history partition maintenance failed; the next pass retries');
    } finally {
      running = false;
    }
  };
  await pass();
  const timer = setInterval(() => void pass(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
