import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, freemem, release, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { HubProcess } from '../tools/testkit/hub-process.ts';
import { startPrivateRedis } from '../tools/testkit/private-redis.ts';
import { dropPrefix } from '../tools/testkit/redis.ts';
import { createBenchDatabase, seedDrivers, type BenchDatabase } from './bench-database.ts';
import { loadOriginalDesignKey, originalDesignKey } from './original-design-key.ts';
import { BENCH_STALE_AFTER_MS, BenchRun, type BenchSetup } from './bench-run.ts';
import { mainThreadProfile, summarizeProfile } from './cpu-profile.ts';
import { WorkerPool } from './load/worker-pool.ts';
import { PHASES } from './phases/index.ts';
import type { BenchPlan } from './plan.ts';
import { Progress } from './progress.ts';
import type { BenchResult } from './report/results.ts';
import { evaluateTargets } from './report/targets.ts';
import { evaluateEfficiencyTargets, hubRunTotals } from './report/efficiency.ts';

const ORIGINAL_DESIGN_ENTRY = fileURLToPath(new URL('./original-design-server.ts', import.meta.url));
const SEED_ONLINE = 42;
const SEED_OFFLINE = 43;
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

type Cleanups = Array<() => Promise<unknown>>;

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

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.disconnect();
  });
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
 * Its own database and Redis prefix, the seeded fleet, the hub in production
 * mode, a second hub whose Redis is gone (for the SQL fallback), the original
 * design's read server and the load generators. Each is registered in
 * `cleanups` as soon as it exists.
 */
async function setUp(
  options: BenchOptions,
  progress: Progress,
  hubEnv: Record<string, string>,
  prefix: string,
  stamp: string,
  cleanups: Cleanups,
): Promise<BenchSetup> {
  const { plan } = options;
  const database = await createBenchDatabase(options.adminUrl, stamp);
  if (!options.keepDatabase) cleanups.push(() => database.drop());
  cleanups.push(() => dropPrefix(prefix, options.redisUrl));
  const online = await seedDrivers(database, { count: plan.onlineDrivers, seed: SEED_ONLINE, onlineShare: 1, radiusKm: plan.fleetRadiusKm });
  await seedDrivers(database, { count: plan.offlineDrivers, seed: SEED_OFFLINE, onlineShare: 0, radiusKm: plan.fleetRadiusKm });
  progress.update(`seeded ${plan.onlineDrivers} online + ${plan.offlineDrivers} offline drivers into ${database.name}`);
  hubEnv.DATABASE_URL = database.url;

  const hub = await HubProcess.start({
    ...READY,
    label: 'hub',
    env: hubEnv,
    cpuProfileDir: options.cpuProfileDir,
    logFile: `${options.logPrefix}-hub.log`,
    inspector: true,
  });
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
  await loadOriginalDesignKey(database.url, options.redisUrl, originalDesignKey(prefix));
  const original = await startOriginalDesign(database.url, options.redisUrl, originalDesignKey(prefix));
  cleanups.push(() => stopChild(original.child));
  return { plan, progress, database, redisUrl: options.redisUrl, prefix, token: { secret: hubEnv.AUTH_SECRET! }, online, hub, fallbackHub, original, pool };
}

/**
 * One benchmark run: set up, every phase of PHASES in order, then the hub
 * stops (writing its CPU profile when asked) and the targets are judged.
 */
export async function runBenchmark(options: BenchOptions): Promise<BenchResult> {
  const { plan, startedAt } = options;
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
  const progress = new Progress(PHASES.length + 2);
  const prefix = `bench:${stamp}:`;
  const hubEnv: Record<string, string> = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    REDIS_URL: options.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    STALE_AFTER_MS: String(BENCH_STALE_AFTER_MS),
    // Production mode requires authentication: a secret of the run's own, with which the generators sign every connection's token.
    AUTH_SECRET: randomBytes(32).toString('hex'),
  };
  const cleanups: Cleanups = [];
  try {
    progress.phase(1, 'setup: database, fleet, hubs, load generators');
    const setup = await setUp(options, progress, hubEnv, prefix, stamp, cleanups);
    const machine = await machineFacts(setup.database, options.redisUrl);
    const run = new BenchRun(setup);
    for (const [index, phase] of PHASES.entries()) {
      progress.phase(index + 2, phase.title(plan));
      await phase.run(run);
    }

    progress.phase(PHASES.length + 2, 'stopping the hubs and writing the report');
    const hubPid = setup.hub.pid;
    const hubTotals = hubRunTotals(await setup.hub.fetchText('/metrics'));
    await setup.hub.stop();
    const profileFile = options.cpuProfileDir ? await mainThreadProfile(options.cpuProfileDir, hubPid, startedAt.getTime()) : undefined;
    const finishedAt = new Date();
    const { findings } = run;
    const result: BenchResult = {
      version: 1,
      plan,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationS: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
      machine,
      hubEnv: Object.fromEntries(Object.entries(hubEnv).map(([name, value]) => [name, name.includes('SECRET') ? '(set)' : value])),
      idle: findings.idle!,
      storeCeilings: findings.storeCeilings!,
      phases: findings.phases,
      restSweep: findings.restSweep,
      explain: findings.explain,
      profile: profileFile ? await summarizeProfile(profileFile) : undefined,
      scaleOut: findings.scaleOut,
      targets: [],
      hubTotals,
      efficiencyTargets: [],
    };
    result.targets = evaluateTargets(result);
    result.efficiencyTargets = evaluateEfficiencyTargets(result);
    progress.endLine();
    return result;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: Error) => progress.note(`cleanup failed: ${error.message}`));
    }
  }
}
