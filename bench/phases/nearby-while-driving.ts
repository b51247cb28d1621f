import type { BenchPhase } from '../bench-run.ts';
import { explainFallbackQuery } from './fallback-explain.ts';

/** Nearby at a fixed rate over WebSocket, answered from Redis, while the fleet moves. */
export const nearbyRedis: BenchPhase = {
  title: (plan) => `nearby over WebSocket (Redis) at ${plan.nearbyPerS}/s while drivers move`,
  async run(run) {
    await run.connectRiders(run.setup.hub);
    await run.readersWhileDriving('nearbyRedis', 'Nearby, WebSocket, Redis index', 'hub', {}, run.nearbyRate(11), run.nearbyOffered);
  },
};

/** The original design's read at the same rate: GEOSEARCH plus one PostgreSQL query per HTTP request. */
export const originalRead: BenchPhase = {
  title: (plan) => `original design's read (GEOSEARCH + PostgreSQL per request) at ${plan.nearbyPerS}/s`,
  async run(run) {
    const { plan } = run;
    const warmupMs = Math.min(plan.warmupMs, 3000);
    await run.readersWhileDriving(
      'originalRead',
      "Nearby, original design's read (HTTP, GEOSEARCH + PostgreSQL enrichment)",
      'original design',
      run.originalProcess,
      run.httpRead(plan.nearbyPerS, warmupMs + plan.shortMeasureMs, warmupMs, plan.httpReadConcurrency),
      `${plan.nearbyPerS.toLocaleString('en-US')} requests/s, up to ${plan.httpReadConcurrency} in flight`,
    );
  },
};

/** The degraded mode: the hub whose Redis is gone answers from PostgreSQL. Ends the moving fleet. */
export const sqlFallback: BenchPhase = {
  title: (plan) => `SQL fallback nearby at ${plan.onlineDrivers.toLocaleString('en-US')} drivers`,
  async run(run) {
    const { plan, fallbackHub, database } = run.setup;
    await run.connectRiders(fallbackHub);
    await run.readersWhileDriving(
      'fallbackSmall',
      `Nearby, SQL fallback, ${plan.onlineDrivers.toLocaleString('en-US')} drivers`,
      'fallback hub',
      run.fallbackProcess,
      run.nearbyRate(12, plan.fallbackPerS),
      run.fallbackOffered,
    );
    run.findings.explain.fallbackSmall = await explainFallbackQuery(database.url, plan.query);
    await run.disconnectDrivers(run.driverWorkers);
  },
};
