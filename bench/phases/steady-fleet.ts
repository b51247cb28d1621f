import { formatLive, toPhase, type BenchPhase } from '../bench-run.ts';

/** The whole online fleet at its steady frame rate. */
export const steadyFleet: BenchPhase = {
  title: (plan) => `${plan.onlineDrivers.toLocaleString('en-US')} drivers × ${plan.driverHz} frame/s`,
  async run(run) {
    const { plan, online, pool } = run.setup;
    await run.connectDrivers(online.firstId, plan.onlineDrivers, run.driverWorkers);
    const { value, usage } = await run.observe({}, plan.warmupMs, plan.measureMs, () =>
      pool.run(run.on(run.driverWorkers, run.streamTask(plan.warmupMs, plan.measureMs)), (totals) => run.progress.update(formatLive(totals, 'acked'))),
    );
    run.findings.phases.drivers = toPhase('Connected drivers, steady rate', 'hub', run.driversOffered, value, usage);
  },
};
