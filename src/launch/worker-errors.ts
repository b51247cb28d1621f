/**
 * HUB_WORKERS > 1 on stores only one process can use: the embedded database
 * (PGlite) belongs to one process, the in-process geo index would give
 * each worker a view of only its own drivers, and without the bus pushes
 * and offers would not reach sockets on another worker.
 */
export class WorkersNeedSharedStoresError extends Error {
  readonly code = 'workers_need_shared_stores';
  constructor(workers: number, missing: 'database' | 'geo' | 'bus') {
    super(
      {
        database: `HUB_WORKERS=${workers} needs DATABASE_URL: the embedded database (PGlite) belongs to one process, so several hub workers cannot share it; set DATABASE_URL and REDIS_URL, or HUB_WORKERS=1`,
        geo: `HUB_WORKERS=${workers} needs REDIS_URL or REDIS_CLUSTER_NODES: the in-process geo index would show each worker only its own drivers; set one, or HUB_WORKERS=1`,
        bus: `HUB_WORKERS=${workers} needs the bus: with HUB_BUS=false offers, ride events and live nearby would not reach sockets on another worker; unset HUB_BUS, or HUB_WORKERS=1`,
      }[missing],
    );
    this.name = 'WorkersNeedSharedStoresError';
  }
}

/** A worker that exited before it served: its own output said why (a taken port, an unreachable database). */
export class WorkerStartError extends Error {
  readonly code = 'worker_start_failed';
  constructor(index: number, pid: number | undefined, code: number | null, signal: NodeJS.Signals | null) {
    super(`hub worker ${index} (pid ${pid}) exited with ${signal ?? `code ${code}`} before it served: see its output above`);
    this.name = 'WorkerStartError';
  }
}
