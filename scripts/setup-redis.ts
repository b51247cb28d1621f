import '../src/launch/check-node.ts';
import { parseCli } from '../src/launch/cli.ts';
import { runConfiguredJob } from '../src/launch/configured-job.ts';
import { describeUrl, explainConnectionFailure } from '../src/launch/startup-errors.ts';
import { createLogger } from '../src/logger.ts';

const USAGE = `usage: npm run setup:redis [-- --help]

Loads the Redis geo index (REDIS_URL, keys under REDIS_KEY_PREFIX) from
PostgreSQL (DATABASE_URL): every online driver seen within STALE_AFTER_MS,
and nothing else. The hub does the same at start and every
RECONCILE_INTERVAL_MS; this is the on-demand version. Drivers it skips are
counted, with the reason.`;

/** node-redis retries a first connection forever; a command-line tool gives up and says why. */
const CONNECT_DEADLINE_MS = 5000;

parseCli(USAGE, {});
await runConfiguredJob(USAGE, 'finishing the load first', async (config) => {
  const { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_CLUSTER_NODES: clusterNodes } = config;
  if (!databaseUrl || (!redisUrl && !clusterNodes)) {
    if (!databaseUrl) process.stderr.write('DATABASE_URL: setup:redis loads Redis from PostgreSQL: set DATABASE_URL to its URL\n');
    if (!redisUrl && !clusterNodes)
      process.stderr.write('REDIS_URL: setup:redis loads the Redis geo index: set REDIS_URL to its URL (or REDIS_CLUSTER_NODES for a cluster)\n');
    return 2;
  }
  const where = redisUrl ? describeUrl(redisUrl).where : `the cluster at ${(clusterNodes ?? []).join(',')}`;
  // Loaded only now, so --help and a missing setting answer without loading the clients.
  const [{ openStore }, { createRedisIndex }, { repairIndex }] = await Promise.all([
    import('../src/store/open-store.ts'),
    import('../src/geo/redis-index.ts'),
    import('../src/sync/index-repair.ts'),
  ]);
  const logger = createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const store = await openStore(config);
  // node-redis retries a first connection forever: the first error, or CONNECT_DEADLINE_MS of wall-clock
  // time (a host that drops packets), ends the attempt instead.
  let failConnect: (error: Error) => void = () => undefined;
  const connectFailed = new Promise<never>((_, reject) => (failConnect = reject));
  const geo = createRedisIndex({ url: redisUrl, clusterNodes, keyPrefix: config.REDIS_KEY_PREFIX, commandTimeoutMs: 10_000 });
  geo.onConnectionError((error) => failConnect(error));
  const giveUp = setTimeout(() => failConnect(new Error(`connect timeout after ${CONNECT_DEADLINE_MS} ms`)), CONNECT_DEADLINE_MS);
  try {
    await store.ping();
    try {
      await Promise.race([geo.connect(), connectFailed]);
    } catch (error) {
      const explained = redisUrl ? explainConnectionFailure(error, { setting: 'REDIS_URL', url: redisUrl }) : undefined;
      process.stderr.write(`${explained ?? `${redisUrl ? 'REDIS_URL' : 'REDIS_CLUSTER_NODES'}: cannot connect to ${where}: ${(error as Error).message}`}\n`);
      return 1;
    } finally {
      clearTimeout(giveUp);
    }
    const started = Date.now();
    const freshSinceMs = started - config.STALE_AFTER_MS;
    const report = await repairIndex(store, geo, config.STALE_AFTER_MS, logger);
    const fleet = await store.countByFreshness(freshSinceMs);
    const skipped = fleet.stale + fleet.offline + fleet.noPosition;
    const reasons = [
      fleet.stale > 0 ? `${fleet.stale} online but silent for over ${config.STALE_AFTER_MS / 1000} s (STALE_AFTER_MS; each returns with its next frame)` : '',
      fleet.offline > 0 ? `${fleet.offline} offline` : '',
      fleet.noPosition > 0 ? `${fleet.noPosition} online without a position yet` : '',
    ].filter(Boolean);
    process.stdout.write(
      `redis geo index at ${where} (prefix ${config.REDIS_KEY_PREFIX}): ${report.checked} fresh online drivers indexed ` +
        `(${report.upserted} written, ${report.removed} removed) in ${Date.now() - started} ms; ` +
        `${skipped > 0 ? `skipped ${skipped} of ${fleet.total}: ${reasons.join(', ')}` : `all ${fleet.total} drivers indexed`}\n`,
    );
  } finally {
    await Promise.allSettled([geo.close(), store.close()]);
  }
});
