import { formatLive, toPhase, type BenchPhase } from '../bench-run.ts';
import { split } from '../load/worker-pool.ts';
import type { LoadPhase } from '../report/results.ts';

/** The original design's write: one REST POST per update, at each concurrency; the best is kept. */
export const restPost: BenchPhase = {
  title: (plan) => `per-request REST POST, concurrency ${plan.restConcurrencies.join(' / ')}`,
  async run(run) {
    const { plan, hub, online, token, pool } = run.setup;
    let best: LoadPhase | undefined;
    for (const concurrency of plan.restConcurrencies) {
      const warmupMs = Math.min(plan.warmupMs, 1000);
      const measureMs = Math.max(500, Math.round(plan.shortMeasureMs / 2));
      const { value, usage } = await run.observe({}, warmupMs, measureMs, () =>
        pool.run(
          split(concurrency, plan.workers).map((share) =>
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
          (totals) => run.progress.update(`concurrency ${concurrency}: ${formatLive(totals, 'ok')}`),
        ),
      );
      const phase = toPhase('Per-request REST POST /api/drivers/:id/location', 'hub REST', `${concurrency} requests in flight`, value, usage);
      run.findings.restSweep.push({
        concurrency,
        perS: phase.perS,
        p99Ms: phase.latencyMs.p99,
        errors: Object.values(phase.errors).reduce((a, b) => a + b, 0),
      });
      if (!best || phase.perS > best.perS) best = phase;
    }
    run.findings.phases.restPost = best!;
  },
};
