import { startPrivateRedisCluster, type PrivateRedisCluster } from '../../tools/testkit/redis-cluster.ts';
import { startPrivateRedis, type PrivateRedis } from '../../tools/testkit/private-redis.ts';
import type { BenchDatabase } from '../bench-database.ts';
import { BENCH_STALE_AFTER_MS, formatLive, type BenchPhase } from '../bench-run.ts';
import type { LoadTask, TokenSpec } from '../load/load-protocol.ts';
import { split, type MergedResult, type WorkerPool } from '../load/worker-pool.ts';
import type { BenchPlan } from '../plan.ts';
import type { Progress } from '../progress.ts';
import type { ScaleOutMeasure, ScaleOutResult, ScaleOutRow, ScaleOutSizes, ScaleOutSubscriptions } from '../report/scale-out-result.ts';
import { startSupervisedHub } from '../scale-out/supervised-hub.ts';
import { observeScaleOut, type ScaleOutSources, type ScaleOutUsage } from '../scale-out/usage-window.ts';

const CLUSTER_MASTERS = 3;
/** Live nearby subscriptions per rider socket: the hub's default SUBSCRIPTIONS_PER_RIDER. */
const SUBSCRIPTIONS_PER_SOCKET = 4;

/**
 * Smaller than the main ceilings: every configuration connects its own
 * riders and drivers afresh. Drivers stay under the hub's per-connection
 * frame budget (20/s) at the ceiling, riders under theirs (10 queries/s).
 */
const SIZES: Record<'full' | 'quick', ScaleOutSizes> = {
  full: {
    ridersPerGenerator: 400,
    queriesInFlightPerGenerator: 64,
    drivers: 5000,
    frameWindow: 8,
    subscriptions: 2000,
    subscriptionDriverHz: 1,
    warmupMs: 2000,
    measureMs: 6000,
  },
  quick: {
    ridersPerGenerator: 20,
    queriesInFlightPerGenerator: 8,
    drivers: 200,
    frameWindow: 2,
    subscriptions: 20,
    subscriptionDriverHz: 1,
    warmupMs: 300,
    measureMs: 800,
  },
};

type Layout = Pick<ScaleOutRow, 'workers' | 'redis'>;

/** The quick run keeps two of the four, one per code path (a single hub on one Redis; workers on the cluster), to stay within seconds. */
const LAYOUTS: Record<'full' | 'quick', Layout[]> = {
  full: [
    { workers: 1, redis: 'single' },
    { workers: 2, redis: 'single' },
    { workers: 1, redis: 'cluster' },
    { workers: 2, redis: 'cluster' },
  ],
  quick: [
    { workers: 1, redis: 'single' },
    { workers: 2, redis: 'cluster' },
  ],
};

/** What the scale-out layouts need of a run: its database and fleet, its generators, its token. */
export interface ScaleOutContext {
  plan: BenchPlan;
  database: BenchDatabase;
  prefix: string;
  token: TokenSpec;
  pool: WorkerPool;
  /** Ids of the online drivers seeded first. */
  online: { firstId: number; lastId: number };
  center: { lat: number; lng: number; spreadKm: number };
  progress: Progress;
}

interface Stores {
  redis: PrivateRedis;
  cluster: PrivateRedisCluster | null;
}

function measured(result: MergedResult, usage: ScaleOutUsage): ScaleOutMeasure {
  return {
    perS: result.measuredMs > 0 ? Math.round((result.completed / result.measuredMs) * 1000) : 0,
    latencyMs: result.latency.summary(),
    errors: result.errors,
    usage,
  };
}

async function postgresPids(database: BenchDatabase): Promise<number[]> {
  const { rows } = await database.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = $1 OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
    [database.name],
  );
  return rows.map((row) => row.pid);
}

/**
 * The connected drivers stream at a steady rate, first alone, then with
 * the subscriptions open on the last generator: the difference in hub CPU
 * over the updates pushed is the cost of one update.
 */
async function measureSubscriptions(
  context: ScaleOutContext,
  address: { host: string; port: number },
  sources: ScaleOutSources,
  driverWorkers: number,
  sizes: ScaleOutSizes,
): Promise<ScaleOutSubscriptions> {
  const { plan, pool, token, center, progress } = context;
  const windowMs = sizes.warmupMs + sizes.measureMs;
  const stream = { kind: 'stream-rate', perDriverHz: sizes.subscriptionDriverHz, durationMs: windowMs, warmupMs: sizes.warmupMs, center } as const;
  const streaming = () => pool.run(Array.from({ length: driverWorkers }, () => stream));
  const alone = await observeScaleOut(sources, sizes.warmupMs, sizes.measureMs, streaming);
  const onReader = (task: LoadTask) => Array.from({ length: pool.size }, (_, index) => (index === pool.size - 1 ? task : undefined));
  const opened = await pool.run(
    onReader({
      kind: 'connect-subscribers',
      hub: address,
      sockets: Math.ceil(sizes.subscriptions / SUBSCRIPTIONS_PER_SOCKET),
      perSocket: SUBSCRIPTIONS_PER_SOCKET,
      shape: plan.query,
      seed: 37,
      token,
    }),
    (totals) => progress.update(`live nearby: ${totals.completed.toLocaleString('en-US')} subscribed`),
  );
  const watched = await observeScaleOut(sources, sizes.warmupMs, sizes.measureMs, () =>
    Promise.all([
      streaming(),
      pool.run(onReader({ kind: 'watch-updates', durationMs: windowMs, warmupMs: sizes.warmupMs }), (totals) =>
        progress.update(`live nearby: ${formatLive(totals, 'updates')}`),
      ),
    ]),
  );
  await pool.run(onReader({ kind: 'disconnect-subscribers' }));
  const [frames, updates] = watched.value;
  return {
    subscribed: opened.completed,
    errors: { ...opened.errors, ...updates.errors },
    framesPerS: frames.measuredMs > 0 ? Math.round((frames.completed / frames.measuredMs) * 1000) : 0,
    hubCpuAlonePercent: sum(alone.usage.hubCpuPercent),
    hubCpuWithPercent: sum(watched.usage.hubCpuPercent),
    redisCpuAlonePercent: alone.usage.redisCpuPercent,
    redisCpuWithPercent: watched.usage.redisCpuPercent,
    updatesPerS: updates.measuredMs > 0 ? Math.round((updates.completed / updates.measuredMs) * 1000) : 0,
    updateDelayMs: updates.latency.summary(),
  };
}

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** One layout: its hub on its own Redis key prefix, the nearby ceiling, then the ingest ceiling, then a graceful stop. */
async function measureLayout(context: ScaleOutContext, layout: Layout, stores: Stores, sizes: ScaleOutSizes): Promise<ScaleOutRow> {
  const { plan, database, token, prefix, pool, online, center, progress } = context;
  const label = `${layout.workers} hub process${layout.workers > 1 ? 'es' : ''}, ${layout.redis === 'single' ? 'one Redis' : `${CLUSTER_MASTERS}-master Redis Cluster`}`;
  const redisUrls = layout.redis === 'single' ? [stores.redis.url] : stores.cluster!.nodes.map((node) => `redis://${node}`);
  const { hub, workerPids } = await startSupervisedHub(label, layout.workers, {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATABASE_URL: database.url,
    AUTH_SECRET: token.secret,
    STALE_AFTER_MS: String(BENCH_STALE_AFTER_MS),
    REDIS_KEY_PREFIX: `${prefix}scale-${layout.workers}-${layout.redis}:`,
    ...(layout.redis === 'single' ? { REDIS_URL: stores.redis.url } : { REDIS_CLUSTER_NODES: stores.cluster!.nodes.join(',') }),
  });
  try {
    const address = { host: '127.0.0.1', port: hub.port };
    const sources = { hubPids: workerPids, redisUrls, postgresPids: () => postgresPids(database), generatorPids: pool.pids };
    const windowMs = sizes.warmupMs + sizes.measureMs;

    await pool.runAll({ kind: 'connect-riders', hub: address, count: sizes.ridersPerGenerator, token });
    const nearby = await observeScaleOut(sources, sizes.warmupMs, sizes.measureMs, () =>
      pool.runAll(
        {
          kind: 'query-paced',
          perSocketHz: plan.ceilingQueryHz,
          inFlight: sizes.queriesInFlightPerGenerator,
          durationMs: windowMs,
          warmupMs: sizes.warmupMs,
          shape: plan.query,
          seed: 31,
        },
        (totals) => progress.update(`${label}: nearby ${formatLive(totals, 'answered')}`),
      ),
    );
    await pool.runAll({ kind: 'disconnect-riders' });

    // The last generator stays free of drivers: it holds the subscribers while the others stream.
    const shares = split(sizes.drivers, pool.size - 1);
    await pool.run(
      shares.map((share, index) => ({
        kind: 'connect-drivers',
        hub: address,
        firstId: online.firstId + shares.slice(0, index).reduce((sum, earlier) => sum + earlier, 0),
        count: share,
        concurrency: plan.connectConcurrency,
        token,
      })),
    );
    const ingest = await observeScaleOut(sources, sizes.warmupMs, sizes.measureMs, () =>
      pool.run(
        shares.map(() => ({ kind: 'stream-window', window: sizes.frameWindow, durationMs: windowMs, warmupMs: sizes.warmupMs, center }) as const),
        (totals) => progress.update(`${label}: ingest ${formatLive(totals, 'acked')}`),
      ),
    );
    const row: ScaleOutRow = {
      ...layout,
      label,
      redisNodes: redisUrls.length,
      nearby: measured(nearby.value, nearby.usage),
      ingest: measured(ingest.value, ingest.usage),
    };
    if (layout.workers === 1 && layout.redis === 'single') row.subscriptions = await measureSubscriptions(context, address, sources, shares.length, sizes);
    await pool.runAll({ kind: 'disconnect-drivers' });
    return row;
  } finally {
    await hub.stop();
  }
}

/**
 * Nearby and ingest ceilings for 1 and 2 hub processes (HUB_WORKERS) on one
 * Redis and on a 3-master Redis Cluster, each store a private redis-server
 * so its CPU is ours alone, with each process's CPU: the per-process
 * figures docs/scaling.md builds on.
 */
export async function measureScaleOut(context: ScaleOutContext): Promise<ScaleOutResult> {
  const { plan } = context;
  const sizes = SIZES[plan.name];
  const layouts = LAYOUTS[plan.name];
  if (context.pool.size < 2) throw new RangeError('scale-out needs two load generators: one streams drivers while the other holds riders');
  if (sizes.drivers > plan.onlineDrivers) throw new RangeError(`scale-out needs ${sizes.drivers} online drivers; the plan seeds ${plan.onlineDrivers}`);
  const redis = await startPrivateRedis();
  let cluster: PrivateRedisCluster | null = null;
  try {
    if (layouts.some((layout) => layout.redis === 'cluster')) cluster = await startPrivateRedisCluster(CLUSTER_MASTERS);
    const rows: ScaleOutRow[] = [];
    for (const layout of layouts) rows.push(await measureLayout(context, layout, { redis, cluster }, sizes));
    return { sizes, rows };
  } finally {
    await Promise.allSettled([redis.stop(), cluster?.stop()]);
  }
}

export const scaleOut: BenchPhase = {
  title: (plan) => `scale-out: ${LAYOUTS[plan.name].length} layouts of hub processes × Redis, nearby and ingest ceilings`,
  async run(run) {
    const { plan, database, prefix, token, pool, online, progress } = run.setup;
    run.findings.scaleOut = await measureScaleOut({ plan, database, prefix, token, pool, online, center: run.center, progress });
  },
};
