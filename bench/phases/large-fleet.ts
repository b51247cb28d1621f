import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, createPostgresStore, createRedisIndex, repairIndex } from '../../src/public/setup.ts';
import type { HubProcess } from '../../tools/testkit/hub-process.ts';
import { seedDrivers } from '../bench-database.ts';
import { BENCH_STALE_AFTER_MS, formatLive, toPhase, type BenchPhase, type BenchRun } from '../bench-run.ts';
import { loadOriginalDesignKey, originalDesignKey } from '../original-design-key.ts';
import { explainFallbackQuery } from './fallback-explain.ts';

const SEED_LARGE = 44;

/** Seeds up to the large fleet and loads it into the index, as the hub's own repair would. */
export const largeFleetSeed: BenchPhase = {
  title: (plan) => `large fleet: seeding to ${plan.largeFleetDrivers.toLocaleString('en-US')} online drivers`,
  async run(run) {
    const { plan, database, redisUrl, prefix } = run.setup;
    await seedDrivers(database, { count: plan.largeFleetDrivers - plan.onlineDrivers, seed: SEED_LARGE, onlineShare: 1, radiusKm: plan.fleetRadiusKm });
    // Both hubs load the new drivers' profiles on their next refreshes (each re-reads a few seconds back): a duration by design.
    await sleep(plan.largeFleetSettleMs);
    const store = createPostgresStore({ url: database.url, poolSize: 2 });
    const geo = createRedisIndex({ url: redisUrl, keyPrefix: prefix, commandTimeoutMs: 30_000 });
    try {
      await geo.connect();
      await repairIndex(store, geo, BENCH_STALE_AFTER_MS, createLogger('silent'));
    } finally {
      await Promise.allSettled([geo.close(), store.close()]);
    }
    await loadOriginalDesignKey(database.url, redisUrl, originalDesignKey(prefix));
    run.findings.explain.fallbackLarge = await explainFallbackQuery(database.url, plan.query);
  },
};

async function largeNearby(run: BenchRun, key: string, label: string, target: HubProcess, targetName: string, seed: number, perSecond: number): Promise<void> {
  const { plan, hub, pool } = run.setup;
  await run.connectRiders(target);
  const warmupMs = Math.min(plan.warmupMs, 3000);
  const { value, usage } = await run.observe(target === hub ? {} : run.fallbackProcess, warmupMs, plan.shortMeasureMs, () =>
    pool.run(run.on([run.readerWorker], run.nearbyRate(seed, perSecond)), (totals) => run.progress.update(formatLive(totals, 'answered'))),
  );
  run.findings.phases[key] = toPhase(label, targetName, perSecond === plan.nearbyPerS ? run.nearbyOffered : run.fallbackOffered, value, usage);
}

/** Redis, the SQL fallback and the original design's read again, at the large fleet. */
export const largeFleetNearby: BenchPhase = {
  title: (plan) => `large fleet: nearby at ${plan.largeFleetDrivers.toLocaleString('en-US')} drivers (Redis, SQL fallback, original design)`,
  async run(run) {
    const { plan, hub, fallbackHub, pool } = run.setup;
    const largeLabel = plan.largeFleetDrivers.toLocaleString('en-US');
    await largeNearby(run, 'nearbyRedisLarge', `Nearby, WebSocket, Redis index, ${largeLabel} drivers`, hub, 'hub', 31, plan.nearbyPerS);
    await largeNearby(run, 'fallbackLarge', `Nearby, SQL fallback, ${largeLabel} drivers`, fallbackHub, 'fallback hub', 32, plan.fallbackPerS);
    const warmupMs = Math.min(plan.warmupMs, 3000);
    const { value, usage } = await run.observe(run.originalProcess, warmupMs, plan.shortMeasureMs, () =>
      pool.run(run.on([run.readerWorker], run.httpRead(plan.nearbyPerS, warmupMs + plan.shortMeasureMs, warmupMs, plan.httpReadConcurrency)), (totals) =>
        run.progress.update(formatLive(totals, 'answered')),
      ),
    );
    run.findings.phases.originalReadLarge = toPhase(
      `Nearby, original design's read, ${largeLabel} drivers`,
      'original design',
      `${plan.nearbyPerS.toLocaleString('en-US')} requests/s`,
      value,
      usage,
    );
    await pool.runAll({ kind: 'disconnect-riders' });
  },
};
