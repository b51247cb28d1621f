import type { Config } from '../config.ts';
import { withDeadline } from '../deadline.ts';
import { GeoHealth } from '../geo/geo-health.ts';
import { createMemoryIndex } from '../geo/memory-index.ts';
import { createRedisIndex } from '../geo/redis-index.ts';
import type { GeoIndex } from '../geo/types.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { generateFleet, TIMES_SQUARE } from '../seed/fleet.ts';
import { openStore } from '../store/open-store.ts';
import type { Store } from '../store/types.ts';
import { repairIndex } from '../sync/index-repair.ts';

export type HubMode = 'server' | 'embedded';

/** The database, the geo index and the index's health, opened, migrated and repaired. */
export interface Stores {
  readonly mode: HubMode;
  readonly store: Store;
  readonly geo: GeoIndex;
  readonly health: GeoHealth;
  /** Makes the index agree with the database (startup, after an outage, on the reconcile timer). */
  repairIndex(): Promise<void>;
}

function chooseGeoIndex(config: Config, logger: Logger): { geo: GeoIndex; mode: HubMode } {
  if (!config.DATABASE_URL) return { geo: createMemoryIndex(), mode: 'embedded' };
  if (!config.REDIS_URL && !config.REDIS_CLUSTER_NODES) {
    logger.info('server mode: PostgreSQL with the in-process geo index (REDIS_URL is not set)');
    return { geo: createMemoryIndex(), mode: 'server' };
  }
  logger.info(
    { cluster: config.REDIS_CLUSTER_NODES },
    `server mode: PostgreSQL with the Redis geo index${config.REDIS_CLUSTER_NODES ? ' on a Redis Cluster' : ''}`,
  );
  const geo = createRedisIndex({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    keyPrefix: config.REDIS_KEY_PREFIX,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    probeIntervalMs: config.REDIS_PROBE_INTERVAL_MS,
    logger,
  });
  return { geo, mode: 'server' };
}

async function seedEmbeddedFleet(store: Store, count: number, logger: Logger): Promise<void> {
  if (count === 0 || (await store.countDrivers()) > 0) return;
  const fleet = [...generateFleet({ count, seed: 1, center: TIMES_SQUARE, radiusKm: 8, onlineShare: 0.7 })];
  await store.insertDrivers(fleet);
  logger.info({ drivers: count }, 'seeded a demo fleet into the empty embedded database');
}

/**
 * PostgreSQL (or embedded PGlite) and the geo index (Redis or in process),
 * with the health monitor that decides whether nearby reads may use the index.
 */
export async function openStores(config: Config, logger: Logger, metrics: Metrics): Promise<Stores> {
  if (!config.DATABASE_URL) {
    if (config.NODE_ENV === 'production' && !config.ALLOW_EMBEDDED) {
      throw new Error('DATABASE_URL is not set and NODE_ENV=production: refusing embedded mode (set ALLOW_EMBEDDED=true to allow it)');
    }
    logger.warn(
      { dataDir: config.DATA_DIR },
      'EMBEDDED MODE: PGlite database in DATA_DIR and an in-process geo index; set DATABASE_URL and REDIS_URL for production',
    );
  }
  const store = await openStore(config, (error) => {
    metrics.storeErrors.inc({ op: 'pool' });
    logger.warn({ err: error }, 'postgres client error');
  });
  const { geo, mode } = chooseGeoIndex(config, logger);
  await store.migrate();
  if (mode === 'embedded') await seedEmbeddedFleet(store, config.EMBEDDED_SEED_DRIVERS, logger);

  const repair = () => repairIndex(store, geo, config.STALE_AFTER_MS, logger).then(() => undefined);
  // A cluster master back from an outage gets the same repair before its cells serve searches again.
  geo.attachRepair(repair);
  const health = new GeoHealth({
    probeIntervalMs: config.REDIS_PROBE_INTERVAL_MS,
    probe: () => geo.ping(),
    repair,
    logger,
    onChange: (state) => metrics.geoFallback.set(state === 'up' ? 0 : 1),
  });
  // A dropped connection may mean a restarted, empty Redis: it counts as a
  // failure even when no command was running, so reads switch back only after a repair.
  geo.onConnectionError((error) => {
    logger.debug({ err: error }, 'geo index connection error');
    health.reportFailure(error, 'connection');
  });
  // node-redis keeps retrying a first connection for as long as it takes: the
  // hub starts on the SQL fallback instead, and the probe loop sees Redis arrive.
  await withDeadline(geo.connect(), Math.max(1000, config.REDIS_COMMAND_TIMEOUT_MS), 'geo index connect').catch((error: Error) =>
    health.reportFailure(error, 'connect'),
  );
  if (health.usable) await repair().catch((error: Error) => health.reportFailure(error, 'startup repair'));
  return { mode, store, geo, health, repairIndex: repair };
}
