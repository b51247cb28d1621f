import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, freemem, totalmem, release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { createRedisIndex } from '../src/geo/redis-index.ts';
import { createLogger } from '../src/logger.ts';
import { TIMES_SQUARE } from '../src/seed/fleet.ts';
import { createPostgresStore } from '../src/store/postgres.ts';
import { repairIndex } from '../src/sync/index-repair.ts';
import { createBenchDatabase, seedDrivers, type BenchDatabase } from './bench-database.ts';
import { mainThreadProfile, summarizeProfile } from './cpu-profile.ts';
import { explainNearest, explainWriteBatch } from './explain.ts';
import { HubProcess } from '../tools/testkit/hub-process.ts';
import { WORKER_MAX_SOCKETS, type LoadTask, type QueryShape, type TokenSpec } from './load/load-protocol.ts';
import { parsePrometheus, sumMetric } from './observe/metrics-scrape.ts';
import { observeWindow, type MachineUsage } from './observe/observe.ts';
import type { BenchPlan } from './plan.ts';
import { measurePostgresCeilings } from './ceilings/postgres-ceiling.ts';
import { startPrivateRedis } from '../tools/testkit/private-redis.ts';
import { dropPrefix } from '../tools/testkit/redis.ts';
import { readProcess } from './observe/proc-stats.ts';
import { Progress } from './progress.ts';
import { measureRedisCeilings } from './ceilings/redis-ceiling.ts';
import type { BenchResult, IdleMemory, LoadPhase } from './report/results.ts';
import { evaluateTargets } from './report/targets.ts';
import { split, WorkerPool, type LiveTotals, type MergedResult } from './load/worker-pool.ts';

const ORIGINAL_DESIGN_ENTRY = fileURLToPath(new URL('./original-design-server.ts', import.meta.url));
const PHASES = 12;
const SEED_ONLINE = 42;
const SEED_OFFLINE = 43;
const SEED_LARGE = 44;
/** Seeded positions never move by themselves: keep them fresh and keep the periodic full index rebuild out of the measured windows. */
const BENCH_STALE_AFTER_MS = 3_600_000;
const BENCH_RECONCILE_MS = 3_600_000;
/** A benchmark hub must have its stores connected before load starts; a large fleet can take a while to load. */
const READY = { readyPath: '/readyz', readyTimeoutMs: 120_000 } as const;

export interface BenchOptions {
  plan: BenchPlan;
  startedAt: Date;
  adminUrl: string;
  redisUrl: string;
  cpuProfileDir?: string;
  keepDatabase: boolean;
  /** The hubs' logs go to `<logPrefix>-hub.log` and `<logPrefix>-fallback-hub.log`. */
  logPrefix: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function formatLive(totals: LiveTotals, unit: string): string {
  const p99 = totals.p99Ms === null ? '-' : `${totals.p99Ms.toFixed(1)} ms`;
  return `sent ${totals.sent.toLocaleString('en-US')} · ${unit} ${totals.completed.toLocaleString('en-US')} · p99 so far ${p99}`;
}

function toPhase(label: string, target: string, offered: string, result: MergedResult, usage?: MachineUsage): LoadPhase {
  return {
    label,
    target,
    offered,
    sent: result.sent,
    completed: result.completed,
    perS: result.measuredMs > 0 ? Math.round((result.completed / result.measuredMs) * 1000) : 0,
    latencyMs: result.latency.summary(),
    histogram: result.latency.toJSON(),
    errors: result.errors,
    counts: result.counts,
    usage,
  };
}

/** The original design's read path, in a process of its own. */
async function startOriginalDesign(databaseUrl: string, redisUrl: string, geoKey: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(ORIGINAL_DESIGN_ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, BASELINE_DATABASE_URL: databaseUrl, BASELINE_REDIS_URL: redisUrl, BASELINE_GEO_KEY: geoKey },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`original-design server exited with ${code}`)));
    child.once('message', (message: { type: string; port: number }) => resolve(message.port));
  });
  return { child, port };
}

async function machineFacts(database: BenchDatabase, redisUrl: string): Promise<Record<string, string | number>> {
  const { rows } = await database.query<{ version: string }>('SELECT version()');
  const client = createClient({ url: redisUrl });
  client.on('error', () => undefined);
  await client.connect();
  const info = await client.info('server');
  await client.close();
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    freeMemoryGbAtStart: Math.round(freemem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    postgres: rows[0]!.version.split(' on ')[0]!,
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown',
  };
}

/**
 * One benchmark run: its own database and Redis prefix, the hub in
 * production mode in its own process (plus a second hub whose Redis is
 * gone, for the SQL fallback), load from separate generator processes, and
 * every measurement the report needs.
 */
export async function runBenchmark(options: BenchOptions): Promise<BenchResult> {
  const { plan, startedAt } = options;
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const progress = new Progress(PHASES);
  const prefix = `bench:${stamp}:`;
  const center = { lat: TIMES_SQUARE.lat, lng: TIMES_SQUARE.lng, spreadKm: plan.query.spreadKm };
  // Production mode requires authentication: a secret of the run's own, with which the generators sign every connection's token.
  const token: TokenSpec = { secret: randomBytes(32).toString('hex') };
  const cleanups: Array<() => Promise<unknown>> = [];

  try {
    progress.phase(1, 'setup: database, fleet, hubs, load generators');
    const database = await createBenchDatabase(options.adminUrl, stamp);
    if (!options.keepDatabase) cleanups.push(() => database.drop());
    cleanups.push(() => dropPrefix(prefix, options.redisUrl));
    const online = await seedDrivers(database, { count: plan.onlineDrivers, seed: SEED_ONLINE, onlineShare: 1, radiusKm: plan.fleetRadiusKm });
    await seedDrivers(database, { count: plan.offlineDrivers, seed: SEED_OFFLINE, onlineShare: 0, radiusKm: plan.fleetRadiusKm });
    progress.update(`seeded ${plan.onlineDrivers} online + ${plan.offlineDrivers} offline drivers into ${database.name}`);

    const hubEnv: Record<string, string> = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      REDIS_URL: options.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      STALE_AFTER_MS: String(BENCH_STALE_AFTER_MS),
      RECONCILE_INTERVAL_MS: String(BENCH_RECONCILE_MS),
      AUTH_SECRET: token.secret,
    };
    const hub = await HubProcess.start({ ...READY, label: 'hub', env: hubEnv, cpuProfileDir: options.cpuProfileDir, logFile: `${options.logPrefix}-hub.log`, inspector: true });
    cleanups.push(() => hub.stop());
    const privateRedis = await startPrivateRedis();
    cleanups.push(() => privateRedis.stop());
    const fallbackHub = await HubProcess.start({
      ...READY,
      label: 'fallback hub',
      env: { ...hubEnv, REDIS_URL: privateRedis.url, REDIS_KEY_PREFIX: `${prefix}fallback:` },
      logFile: `${options.logPrefix}-fallback-hub.log`,
    });
    cleanups.push(() => fallbackHub.stop());
    // With its Redis gone, the fallback hub's first search fails and every later one goes to SQL.
    await privateRedis.stop();
    const pool = await WorkerPool.start(plan.workers);
    cleanups.push(() => pool.close());
    const original = await startOriginalDesign(database.url, options.redisUrl, `${prefix}geo:drivers`);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          if (original.child.exitCode !== null) return resolve();
          original.child.once('exit', () => resolve());
          original.child.disconnect();
        }),
    );
    const machine = await machineFacts(database, options.redisUrl);

    const allWorkers = Array.from({ length: plan.workers }, (_, index) => index);
    const readerWorker = plan.workers - 1;
    const driverWorkers = allWorkers.slice(0, -1);
    const hubAddress = (target: HubProcess) => ({ host: '127.0.0.1', port: target.port });
    let postgresPids: number[] = [];
    const refreshPostgresPids = async () => {
      const { rows } = await database.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = $1 OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
        [database.name],
      );
      postgresPids = rows.map((row) => row.pid);
    };
    const observe = async <T>(extra: Record<string, () => number[]>, warmupMs: number, measureMs: number, work: () => Promise<T>) => {
      await refreshPostgresPids();
      return observeWindow(
        {
          hub,
          redisUrl: options.redisUrl,
          processes: { hub: () => [hub.pid], postgres: () => postgresPids, generators: () => pool.pids, ...extra },
        },
        warmupMs,
        measureMs,
        work,
      );
    };

    /** Spreads `count` sockets over `workers`, never more than one process may hold. */
    const spread = (count: number, workers: number[], make: (first: number, share: number) => LoadTask) => {
      const tasks: Array<LoadTask | undefined> = allWorkers.map(() => undefined);
      let offset = 0;
      split(count, workers.length).forEach((share, index) => {
        if (share > WORKER_MAX_SOCKETS) throw new RangeError(`${share} sockets for one load generator: the cap is ${WORKER_MAX_SOCKETS}`);
        tasks[workers[index]!] = make(offset, share);
        offset += share;
      });
      return tasks;
    };
    const connectDrivers = async (firstId: number, count: number, workers: number[]) => {
      const result = await pool.run(
        spread(count, workers, (offset, share) => ({ kind: 'connect-drivers', hub: hubAddress(hub), firstId: firstId + offset, count: share, concurrency: plan.connectConcurrency, token })),
        (totals) => progress.update(`connecting drivers: ${totals.completed.toLocaleString('en-US')}/${count.toLocaleString('en-US')}`),
      );
      if (result.completed !== count) throw new Error(`only ${result.completed} of ${count} drivers connected: ${JSON.stringify(result.errors)}`);
      return result;
    };
    const disconnectDrivers = (workers: number[]) => pool.run(allWorkers.map((index) => (workers.includes(index) ? { kind: 'disconnect-drivers' } : undefined)));
    const connectRiders = async (target: HubProcess) => {
      await pool.run(allWorkers.map((index) => (index === readerWorker ? { kind: 'disconnect-riders' } : undefined)));
      const result = await pool.run(allWorkers.map((index) => (index === readerWorker ? { kind: 'connect-riders', hub: hubAddress(target), count: plan.riders, token } : undefined)));
      if (result.completed !== plan.riders) throw new Error(`only ${result.completed} of ${plan.riders} riders connected: ${JSON.stringify(result.errors)}`);
    };
    const streamTask = (warmupMs: number, measureMs: number): LoadTask => ({ kind: 'stream-rate', perDriverHz: plan.driverHz, durationMs: warmupMs + measureMs, warmupMs, center });
    const driversOffered = `${plan.onlineDrivers.toLocaleString('en-US')} drivers × ${plan.driverHz} frame/s`;
    const phases: Record<string, LoadPhase> = {};
    const explain: Record<string, string> = {};

    /** Drivers stream at their steady rate while one reader task runs on the reader worker. */
    const readersWhileDriving = async (key: string, label: string, target: string, extra: Record<string, () => number[]>, reader: LoadTask, offered: string) => {
      const warmupMs = Math.min(plan.warmupMs, 3000);
      const measureMs = plan.shortMeasureMs;
      const { value, usage } = await observe(extra, warmupMs, measureMs, () =>
        Promise.all([
          pool.run(allWorkers.map((index) => (driverWorkers.includes(index) ? streamTask(warmupMs, measureMs) : undefined))),
          pool.run(allWorkers.map((index) => (index === readerWorker ? reader : undefined)), (totals) => progress.update(formatLive(totals, 'answered'))),
        ]),
      );
      phases[key] = toPhase(label, target, offered, value[1], usage);
      phases[`${key}.drivers`] = toPhase(`${label}: driver acks meanwhile`, 'hub', driversOffered, value[0]);
    };

    // ---- 2. idle connections: memory per connection ----
    // Both readings follow a full garbage collection, so garbage left by the
    // upgrades (token checks, headers) is not counted as connection state.
    progress.phase(2, `idle connections: ${plan.idleConnections.toLocaleString('en-US')} sockets`);
    const settledMemory = async () => {
      await sleep(plan.idleSettleMs);
      await hub.collectGarbage();
      const heap = sumMetric(parsePrometheus(await hub.fetchText('/metrics')), 'hub_nodejs_heap_size_used_bytes');
      return { rss: readProcess(hub.pid)!.rssBytes, heap };
    };
    // The cost of a connection is the slope between a third and all of them,
    // every socket open at both readings: measured from an empty hub, the
    // allocator's one-time growth and the release of startup garbage made the
    // figure swing from run to run, even below zero.
    const [firstWorker, ...otherWorkers] = allWorkers;
    const firstThird = Math.floor(plan.idleConnections / 3);
    await connectDrivers(online.firstId, firstThird, [firstWorker!]);
    const baseline = await settledMemory();
    const idleConnect = await connectDrivers(online.firstId + firstThird, plan.idleConnections - firstThird, otherWorkers);
    const loaded = await settledMemory();
    const idle: IdleMemory = {
      connections: plan.idleConnections,
      connected: firstThird + idleConnect.completed,
      baselineRssBytes: baseline.rss,
      loadedRssBytes: loaded.rss,
      bytesPerConnection: Math.round((loaded.rss - baseline.rss) / Math.max(1, idleConnect.completed)),
      heapBytesPerConnection: Math.round((loaded.heap - baseline.heap) / Math.max(1, idleConnect.completed)),
      connectP99Ms: idleConnect.latency.percentile(99),
    };
    await disconnectDrivers(allWorkers);

    // ---- 3. the stores' own ceilings ----
    progress.phase(3, 'store ceilings: Redis GEOADD / GEOSEARCH, PostgreSQL batched UPDATE + INSERT');
    const redisCeilings = await measureRedisCeilings({
      url: options.redisUrl,
      geoKey: `${prefix}geo:drivers`,
      scratchKey: `${prefix}ceiling:geo`,
      center,
      radiusKm: plan.query.radiusKm,
      count: plan.query.limit * 2 + 16,
      members: plan.redisCeilingMembers,
      membersPerCommand: Math.min(1000, plan.redisCeilingMembers / 2),
      durationMs: plan.storeCeilingMs,
    });
    progress.update(`redis: ${redisCeilings.geoaddMembersPerS.toLocaleString('en-US')} GEOADD members/s, ${redisCeilings.geosearchPerS.toLocaleString('en-US')} GEOSEARCH/s`);
    await database.query('VACUUM drivers');
    const postgresCeilings = await measurePostgresCeilings({
      url: database.url,
      firstId: online.firstId,
      drivers: plan.onlineDrivers,
      batchRows: plan.pgBatchRows,
      durationMs: plan.storeCeilingMs,
      center: TIMES_SQUARE,
    });

    // ---- 4. the fleet at its steady rate ----
    progress.phase(4, `${driversOffered}`);
    await connectDrivers(online.firstId, plan.onlineDrivers, driverWorkers);
    {
      const { value, usage } = await observe({}, plan.warmupMs, plan.measureMs, () =>
        pool.run(allWorkers.map((index) => (driverWorkers.includes(index) ? streamTask(plan.warmupMs, plan.measureMs) : undefined)), (totals) =>
          progress.update(formatLive(totals, 'acked')),
        ),
      );
      phases.drivers = toPhase('Connected drivers, steady rate', 'hub', driversOffered, value, usage);
    }

    // ---- 5–7. nearby at a fixed rate while the fleet moves: hub (Redis), original design, SQL fallback ----
    const nearbyRate = (seed: number, perSecond = plan.nearbyPerS): LoadTask => ({
      kind: 'query-rate',
      perSecond,
      durationMs: Math.min(plan.warmupMs, 3000) + plan.shortMeasureMs,
      warmupMs: Math.min(plan.warmupMs, 3000),
      shape: plan.query,
      seed,
    });
    const httpRead = (port: number, perSecond: number | undefined, durationMs: number, warmupMs: number, concurrency: number): LoadTask => ({
      kind: 'http',
      request: 'get-nearby',
      host: '127.0.0.1',
      port,
      concurrency,
      perSecond,
      durationMs,
      warmupMs,
      firstDriverId: online.firstId,
      driverCount: plan.onlineDrivers,
      shape: plan.query,
      seed: 5,
    });
    const nearbyOffered = `${plan.nearbyPerS.toLocaleString('en-US')} queries/s over ${plan.riders} sockets, radius ${plan.query.radiusKm} km, limit ${plan.query.limit}`;
    progress.phase(5, `nearby over WebSocket (Redis) at ${plan.nearbyPerS}/s while drivers move`);
    await connectRiders(hub);
    await readersWhileDriving('nearbyRedis', 'Nearby, WebSocket, Redis index', 'hub', {}, nearbyRate(11), nearbyOffered);

    progress.phase(6, `original design's read (GEOSEARCH + PostgreSQL per request) at ${plan.nearbyPerS}/s`);
    const warm = Math.min(plan.warmupMs, 3000);
    await readersWhileDriving(
      'originalRead',
      "Nearby, original design's read (HTTP, GEOSEARCH + PostgreSQL enrichment)",
      'original design',
      { 'original-design server': () => [original.child.pid!] },
      httpRead(original.port, plan.nearbyPerS, warm + plan.shortMeasureMs, warm, plan.httpReadConcurrency),
      `${plan.nearbyPerS.toLocaleString('en-US')} requests/s, up to ${plan.httpReadConcurrency} in flight`,
    );

    progress.phase(7, `SQL fallback nearby at ${plan.onlineDrivers.toLocaleString('en-US')} drivers`);
    await connectRiders(fallbackHub);
    const fallbackOffered = `${plan.fallbackPerS.toLocaleString('en-US')} queries/s over ${plan.riders} sockets, radius ${plan.query.radiusKm} km, limit ${plan.query.limit}`;
    await readersWhileDriving('fallbackSmall', `Nearby, SQL fallback, ${plan.onlineDrivers.toLocaleString('en-US')} drivers`, 'fallback hub', { 'fallback hub': () => [fallbackHub.pid] }, nearbyRate(12, plan.fallbackPerS), fallbackOffered);
    explain.fallbackSmall = await explainNearest(database.url, {
      lat: TIMES_SQUARE.lat,
      lng: TIMES_SQUARE.lng,
      radiusKm: plan.query.radiusKm,
      limit: plan.query.limit,
      freshSinceMs: Date.now() - BENCH_STALE_AFTER_MS,
    });
    await disconnectDrivers(driverWorkers);

    // ---- 8. nearby ceilings: hub over WebSocket, original design over HTTP ----
    progress.phase(8, 'nearby ceilings: WebSocket hub, original-design HTTP read');
    {
      const warmupMs = Math.min(plan.warmupMs, 2000);
      const riders = plan.ceilingRidersPerWorker * plan.workers;
      await pool.runAll({ kind: 'disconnect-riders' });
      await pool.runAll({ kind: 'connect-riders', hub: hubAddress(hub), count: plan.ceilingRidersPerWorker, token });
      const { value, usage } = await observe({}, warmupMs, plan.shortMeasureMs, () =>
        pool.runAll({ kind: 'query-paced', perSocketHz: plan.ceilingQueryHz, inFlight: plan.ceilingQueriesInFlight, durationMs: warmupMs + plan.shortMeasureMs, warmupMs, shape: plan.query, seed: 21 }, (totals) =>
          progress.update(`ceiling ${formatLive(totals, 'answered')}`),
        ),
      );
      phases.nearbyCeiling = toPhase('Nearby ceiling, WebSocket, Redis index', 'hub', `${riders.toLocaleString('en-US')} sockets, ${plan.ceilingQueriesInFlight * plan.workers} queries in flight, ≤ ${plan.ceilingQueryHz}/s per socket`, value, usage);
      await pool.runAll({ kind: 'disconnect-riders' });

      const perWorker = Math.max(1, Math.floor(plan.httpReadConcurrency / plan.workers));
      const read = await observe({ 'original-design server': () => [original.child.pid!] }, warmupMs, plan.shortMeasureMs, () =>
        pool.runAll(httpRead(original.port, undefined, warmupMs + plan.shortMeasureMs, warmupMs, perWorker), (totals) => progress.update(`original read ceiling ${formatLive(totals, 'answered')}`)),
      );
      phases.originalReadCeiling = toPhase("Nearby ceiling, original design's read", 'original design', `${perWorker * plan.workers} requests in flight`, read.value, read.usage);
    }

    // ---- 9. the original design's write: one POST per update ----
    progress.phase(9, `per-request REST POST, concurrency ${plan.restConcurrencies.join(' / ')}`);
    const restSweep: BenchResult['restSweep'] = [];
    let bestRest: LoadPhase | undefined;
    for (const concurrency of plan.restConcurrencies) {
      const warmupMs = Math.min(plan.warmupMs, 1000);
      const measureMs = Math.max(500, Math.round(plan.shortMeasureMs / 2));
      const perWorker = split(concurrency, plan.workers);
      const { value, usage } = await observe({}, warmupMs, measureMs, () =>
        pool.run(
          perWorker.map((share) =>
            share === 0
              ? undefined
              : {
                  kind: 'http',
                  request: 'post-location',
                  host: '127.0.0.1',
                  port: hub.port,
                  concurrency: share,
                  durationMs: warmupMs + measureMs,
                  warmupMs,
                  firstDriverId: online.firstId,
                  driverCount: plan.onlineDrivers,
                  shape: plan.query,
                  seed: concurrency,
                  token,
                },
          ),
          (totals) => progress.update(`concurrency ${concurrency}: ${formatLive(totals, 'ok')}`),
        ),
      );
      const phase = toPhase('Per-request REST POST /api/drivers/:id/location', 'hub REST', `${concurrency} requests in flight`, value, usage);
      restSweep.push({ concurrency, perS: phase.perS, p99Ms: phase.latencyMs.p99, errors: Object.values(phase.errors).reduce((a, b) => a + b, 0) });
      if (!bestRest || phase.perS > bestRest.perS) bestRest = phase;
    }
    phases.restPost = bestRest!;

    // ---- 10. ingest ceiling: every driver keeps frames in flight ----
    progress.phase(10, `ingest ceiling: ${plan.ceilingDrivers.toLocaleString('en-US')} drivers × ${plan.ceilingFrameWindow} frames in flight`);
    await connectDrivers(online.firstId, plan.ceilingDrivers, allWorkers);
    {
      const warmupMs = Math.min(plan.warmupMs, 3000);
      const { value, usage } = await observe({}, warmupMs, plan.shortMeasureMs, () =>
        pool.runAll({ kind: 'stream-window', window: plan.ceilingFrameWindow, durationMs: warmupMs + plan.shortMeasureMs, warmupMs, center }, (totals) =>
          progress.update(formatLive(totals, 'acked')),
        ),
      );
      phases.ingestCeiling = toPhase('Ingest ceiling, WebSocket batch path', 'hub', `${plan.ceilingDrivers.toLocaleString('en-US')} drivers × ${plan.ceilingFrameWindow} unacked frames`, value, usage);
    }
    await disconnectDrivers(allWorkers);
    {
      const { rows } = await database.query<{ top: string }>('SELECT max(last_seq)::text AS top FROM drivers');
      const seq = Number(rows[0]!.top) + 1;
      const ids = Array.from({ length: Math.min(plan.pgBatchRows, plan.onlineDrivers) }, (_, index) => online.firstId + index);
      const now = Date.now();
      explain.writeBatch = await explainWriteBatch(database.url, {
        driverIds: ids,
        seqs: ids.map(() => seq),
        lats: ids.map((_, index) => TIMES_SQUARE.lat + (index % 100) * 1e-4),
        lngs: ids.map((_, index) => TIMES_SQUARE.lng - (index % 100) * 1e-4),
        recordedAtMs: ids.map(() => now),
        receivedAtMs: ids.map(() => now),
        statusDriverIds: [],
        statuses: [],
      });
    }

    // ---- 11. the large fleet: Redis, SQL fallback and the original read at 100k drivers ----
    const largeLabel = plan.largeFleetDrivers.toLocaleString('en-US');
    progress.phase(11, `large fleet: seeding to ${largeLabel} online drivers`);
    await seedDrivers(database, { count: plan.largeFleetDrivers - plan.onlineDrivers, seed: SEED_LARGE, onlineShare: 1, radiusKm: plan.fleetRadiusKm });
    // Both hubs load the new drivers' profiles on their next refreshes (each re-reads a few seconds back): let that pass.
    await sleep(plan.largeFleetSettleMs);
    {
      const store = createPostgresStore({ url: database.url, poolSize: 2 });
      const geo = createRedisIndex({ url: options.redisUrl, keyPrefix: prefix, commandTimeoutMs: 30_000 });
      try {
        await geo.connect();
        await repairIndex(store, geo, BENCH_STALE_AFTER_MS, createLogger('silent'));
      } finally {
        await Promise.allSettled([geo.close(), store.close()]);
      }
    }
    explain.fallbackLarge = await explainNearest(database.url, {
      lat: TIMES_SQUARE.lat,
      lng: TIMES_SQUARE.lng,
      radiusKm: plan.query.radiusKm,
      limit: plan.query.limit,
      freshSinceMs: Date.now() - BENCH_STALE_AFTER_MS,
    });
    const largeNearby = async (key: string, label: string, target: HubProcess, targetName: string, seed: number, perSecond = plan.nearbyPerS) => {
      await connectRiders(target);
      const warmupMs = Math.min(plan.warmupMs, 3000);
      const extra: Record<string, () => number[]> = target === hub ? {} : { 'fallback hub': () => [target.pid] };
      const { value, usage } = await observe(extra, warmupMs, plan.shortMeasureMs, () =>
        pool.run(allWorkers.map((index) => (index === readerWorker ? { ...nearbyRate(seed, perSecond), durationMs: warmupMs + plan.shortMeasureMs, warmupMs } : undefined)), (totals) =>
          progress.update(formatLive(totals, 'answered')),
        ),
      );
      phases[key] = toPhase(label, targetName, perSecond === plan.nearbyPerS ? nearbyOffered : fallbackOffered, value, usage);
    };
    progress.phase(11, `large fleet: nearby at ${largeLabel} drivers (Redis, SQL fallback, original design)`);
    await largeNearby('nearbyRedisLarge', `Nearby, WebSocket, Redis index, ${largeLabel} drivers`, hub, 'hub', 31);
    await largeNearby('fallbackLarge', `Nearby, SQL fallback, ${largeLabel} drivers`, fallbackHub, 'fallback hub', 32, plan.fallbackPerS);
    {
      const warmupMs = Math.min(plan.warmupMs, 3000);
      const { value, usage } = await observe({ 'original-design server': () => [original.child.pid!] }, warmupMs, plan.shortMeasureMs, () =>
        pool.run(allWorkers.map((index) => (index === readerWorker ? httpRead(original.port, plan.nearbyPerS, warmupMs + plan.shortMeasureMs, warmupMs, plan.httpReadConcurrency) : undefined)), (totals) =>
          progress.update(formatLive(totals, 'answered')),
        ),
      );
      phases.originalReadLarge = toPhase(`Nearby, original design's read, ${largeLabel} drivers`, 'original design', `${plan.nearbyPerS.toLocaleString('en-US')} requests/s`, value, usage);
    }

    // ---- 12. wrap up ----
    progress.phase(12, 'stopping the hubs and writing the report');
    await pool.runAll({ kind: 'disconnect-riders' });
    const hubPid = hub.pid;
    await hub.stop();
    const profileFile = options.cpuProfileDir ? await mainThreadProfile(options.cpuProfileDir, hubPid, startedAt.getTime()) : undefined;
    const profile = profileFile ? await summarizeProfile(profileFile) : undefined;
    const finishedAt = new Date();
    const result: BenchResult = {
      version: 1,
      plan,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
      machine,
      hubEnv: Object.fromEntries(Object.entries(hubEnv).map(([name, value]) => [name, name.includes('SECRET') ? '(set)' : value])),
      idle,
      storeCeilings: { redis: redisCeilings, postgres: postgresCeilings },
      phases,
      restSweep,
      explain,
      profile,
      targets: [],
    };
    result.targets = evaluateTargets(result);
    progress.endLine();
    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: Error) => progress.note(`cleanup failed: ${error.message}`));
    }
  }
}
