import { formatLive, toPhase, type BenchPhase } from '../bench-run.ts';

/** How many nearby answers per second the hub gives over WebSocket, and the original design over HTTP. */
export const nearbyCeilings: BenchPhase = {
  title: () => 'nearby ceilings: WebSocket hub, original-design HTTP read',
  async run(run) {
    const { plan, hub, token, pool } = run.setup;
    const warmupMs = Math.min(plan.warmupMs, 2000);
    const riders = plan.ceilingRidersPerWorker * plan.workers;
    await pool.runAll({ kind: 'disconnect-riders' });
    await pool.runAll({ kind: 'connect-riders', hub: { host: '127.0.0.1', port: hub.port }, count: plan.ceilingRidersPerWorker, token });
    const ceiling = await run.observe({}, warmupMs, plan.shortMeasureMs, () =>
      pool.runAll(
        {
          kind: 'query-paced',
          perSocketHz: plan.ceilingQueryHz,
          inFlight: plan.ceilingQueriesInFlight,
          durationMs: warmupMs + plan.shortMeasureMs,
          warmupMs,
          shape: plan.query,
          seed: 21,
        },
        (totals) => run.progress.update(`ceiling ${formatLive(totals, 'answered')}`),
      ),
    );
    run.findings.phases.nearbyCeiling = toPhase(
      'Nearby ceiling, WebSocket, Redis index',
      'hub',
      `${riders.toLocaleString('en-US')} sockets, ${plan.ceilingQueriesInFlight * plan.workers} queries in flight, ≤ ${plan.ceilingQueryHz}/s per socket`,
      ceiling.value,
      ceiling.usage,
    );
    await pool.runAll({ kind: 'disconnect-riders' });

    const perWorker = Math.max(1, Math.floor(plan.httpReadConcurrency / plan.workers));
    const read = await run.observe(run.originalProcess, warmupMs, plan.shortMeasureMs, () =>
      pool.runAll(run.httpRead(undefined, warmupMs + plan.shortMeasureMs, warmupMs, perWorker), (totals) =>
        run.progress.update(`original read ceiling ${formatLive(totals, 'answered')}`),
      ),
    );
    run.findings.phases.originalReadCeiling = toPhase(
      "Nearby ceiling, original design's read",
      'original design',
      `${perWorker * plan.workers} requests in flight`,
      read.value,
      read.usage,
    );
  },
};
