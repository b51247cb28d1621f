import { toPhase, type BenchPhase } from '../bench-run.ts';

/**
 * Every online driver drops its socket and comes back in the same moment, as
 * after a load balancer restart or a network blip: all sockets are opened at
 * once (no connect concurrency limit), and each driver is resumed from
 * `hello.lastSeq`. The figure is the hub's longest event-loop delay over the
 * window (issue 12's target: ≤ 50 ms at 10,000 drivers); the latencies are
 * each driver's connect to `hello`. The fleet is connected again afterwards,
 * as the phases after this one expect.
 */
export const reconnectStorm: BenchPhase = {
  title: (plan) => `reconnect storm: ${plan.onlineDrivers.toLocaleString('en-US')} drivers at once`,
  async run(run) {
    const { plan, online } = run.setup;
    await run.disconnectDrivers(run.driverWorkers);
    const { value, usage } = await run.observe({}, 0, plan.shortMeasureMs, () =>
      run.connectDrivers(online.firstId, plan.onlineDrivers, run.driverWorkers, plan.onlineDrivers),
    );
    run.findings.phases.reconnectStorm = toPhase(
      'Reconnect storm: every driver at once',
      'hub',
      `${plan.onlineDrivers.toLocaleString('en-US')} drivers reconnecting, every socket opened at once`,
      value,
      usage,
    );
  },
};
