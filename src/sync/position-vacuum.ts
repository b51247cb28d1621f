import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { Store } from '../store/types.ts';

export interface PositionVacuum {
  stop(): void;
}

/**
 * Every committed batch rewrites its drivers' rows, and each rewrite adds an
 * entry to the GiST position index (the position is indexed, so no update
 * is HOT). Autovacuum visits a database at most once a naptime (a minute by
 * default), by which time a fleet streaming at 1 frame/s has left dozens of
 * dead versions per row, and batches slow down several fold. Vacuuming the
 * drivers table every few seconds keeps the heap and index near their live
 * size; on a table with nothing to clean it costs about a millisecond.
 */
export function startPositionVacuum(store: Store, intervalMs: number, metrics: Metrics, logger: Logger): PositionVacuum {
  if (intervalMs === 0) return { stop: () => undefined };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    store
      .vacuumPositions()
      .catch((error: Error) => {
        metrics.storeErrors.inc({ op: 'vacuum' });
        logger.warn({ err: error }, 'vacuum of the drivers table failed; batches slow down until the next one succeeds');
      })
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
