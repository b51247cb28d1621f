import { formatLive, toPhase, type BenchPhase } from '../bench-run.ts';
import type { LoadPhase } from '../report/results.ts';

/** A step stalls when assignments fall this far behind the requests... */
export const KEEPING_UP = 0.9;
/** ...or the slowest assignments take this long. */
export const STALL_P99_MS = 2_000;

/** Whether dispatch kept up with a step's requests; the ramp stops at the first step that did not. */
export function stormStalled(step: LoadPhase, perSecond: number): boolean {
  const errors = Object.values(step.errors).reduce((sum, count) => sum + count, 0);
  return (
    step.perS < perSecond * KEEPING_UP ||
    (step.latencyMs.p99 ?? 0) > STALL_P99_MS ||
    errors > step.sent * 0.01 ||
    (step.counts['unresolved after drain'] ?? 0) > 0
  );
}

/**
 * The dispatch storm: ride requests at rising rates, one step each, while
 * the connected fleet's drivers take every ride they are offered at once
 * (and finish it at once, so they are free for the next). The ramp stops at
 * the first step where assignments no longer keep up. Latency is a rider's,
 * from `ride.request` to `ride.assigned`.
 */
export const dispatchStorm: BenchPhase = {
  title: (plan) => `dispatch storm: ${plan.stormRates.join(', ')} ride requests/s until assignments stall`,
  async run(run) {
    const { plan, pool, hub, token } = run.setup;
    await pool.run(run.on(run.driverWorkers, { kind: 'answer-offers', accept: true }));
    const connected = await pool.run(
      run.on([run.readerWorker], { kind: 'connect-ride-riders', hub: { host: '127.0.0.1', port: hub.port }, count: plan.stormRiders, token }),
    );
    if (connected.completed !== plan.stormRiders)
      throw new Error(`only ${connected.completed} of ${plan.stormRiders} ride riders connected: ${JSON.stringify(connected.errors)}`);
    const warmupMs = Math.min(1000, plan.warmupMs);
    let best: LoadPhase | undefined;
    for (const [index, perSecond] of plan.stormRates.entries()) {
      const { value, usage } = await run.observe({}, warmupMs, plan.stormStepMs, () =>
        pool.run(
          run.on([run.readerWorker], { kind: 'ride-rate', perSecond, durationMs: warmupMs + plan.stormStepMs, warmupMs, shape: plan.query, seed: 70 + index }),
          (totals) => run.progress.update(`${perSecond} requests/s: ${formatLive(totals, 'assigned')}`),
        ),
      );
      const step = toPhase(
        `Dispatch storm at ${perSecond} requests/s (latency = request to ride.assigned)`,
        'hub',
        `${perSecond} ride requests/s over ${plan.stormRiders.toLocaleString('en-US')} riders; ${plan.onlineDrivers.toLocaleString('en-US')} drivers accept at once`,
        value,
        usage,
      );
      run.findings.phases[`dispatchStorm.${perSecond}`] = step;
      if (stormStalled(step, perSecond)) break;
      best = step;
    }
    if (best) run.findings.phases.dispatchStorm = best;
    await pool.run(run.on(run.driverWorkers, { kind: 'answer-offers', accept: false }));
    await pool.run(run.on([run.readerWorker], { kind: 'disconnect-ride-riders' }));
  },
};
