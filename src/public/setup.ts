// The public entry for setting up and inspecting a hub's databases from
// outside the server (the benchmark): a store and a geo index opened the way
// the hub opens them, the repair that loads the index, and EXPLAINs of the
// hub's own statements. Loading it loads pg, drizzle and redis; the seed
// fleet itself is in ./fleet.ts.
export { createPostgresStore, type PostgresStoreOptions } from '../store/postgres.ts';
export type { CandidateQuery, LocationBatch, Store } from '../store/types.ts';
export { explainNearest, explainWriteBatch } from '../store/explain.ts';
export { createRedisIndex, type RedisIndexOptions } from '../geo/redis-index.ts';
export type { GeoIndex } from '../geo/types.ts';
export { repairIndex, type RepairReport } from '../sync/index-repair.ts';
export { createIndexReconciler, type ReconcilePass } from '../sync/index-reconcile.ts';
export { createLogger, type Logger } from '../logger.ts';
