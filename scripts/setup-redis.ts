import { loadConfig } from '../src/config.ts';
import { createRedisIndex } from '../src/geo/redis-index.ts';
import { createLogger } from '../src/logger.ts';
import { openStore } from '../src/store/open-store.ts';
import { repairIndex } from '../src/sync/index-repair.ts';

/** `npm run setup:redis`: loads every fresh online driver from PostgreSQL into the Redis geo index, pipelined. */
const config = loadConfig();
if (!config.DATABASE_URL || !config.REDIS_URL) {
  process.stderr.write('setup:redis needs DATABASE_URL and REDIS_URL\n');
  process.exit(2);
}
const logger = createLogger(config.LOG_LEVEL);
const store = await openStore(config);
const geo = createRedisIndex({ url: config.REDIS_URL, keyPrefix: config.REDIS_KEY_PREFIX, commandTimeoutMs: 10_000 });
try {
  await geo.connect();
  const started = Date.now();
  const report = await repairIndex(store, geo, config.STALE_AFTER_MS, logger);
  process.stdout.write(`redis geo index: ${report.upserted} drivers loaded, ${report.removed} removed, in ${Date.now() - started} ms\n`);
} finally {
  await Promise.allSettled([geo.close(), store.close()]);
}
