/**
 * The IPC channel between a hub worker and its supervisor (HUB_WORKERS > 1):
 * the worker says when it serves, and stops on its own if the supervisor
 * goes away, so no orphaned worker keeps the shared port.
 */

/** What a worker tells its supervisor once it listens. */
export interface WorkerReady {
  type: 'worker.ready';
  port: number;
  mode: 'embedded' | 'server';
  geoUsable: boolean;
}

export function isWorkerReady(message: unknown): message is WorkerReady {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'worker.ready';
}

export function reportReady(ready: Omit<WorkerReady, 'type'>): void {
  process.send?.({ type: 'worker.ready', ...ready } satisfies WorkerReady);
}

/** The supervisor died without stopping us (SIGKILL, a crash): drain and exit like on SIGTERM. */
export function stopWhenOrphaned(stop: () => void): void {
  process.once('disconnect', stop);
}
