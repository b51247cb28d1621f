import { formatLive, toPhase, type BenchPhase } from '../bench-run.ts';

/**
 * Live nearby: the moving fleet alone, then the same fleet with
 * `plan.subscriptions` subscriptions open, so the hub's CPU with and without
 * them comes from two windows minutes apart under the same load. Each update's
 * own `ms` is the hub's delay from the change (committed and indexed) to the
 * send, rate-limit wait included.
 */
export const liveNearby: BenchPhase = {
  title: (plan) =>
    `live nearby: ${plan.subscriptions.toLocaleString('en-US')} subscriptions over ${plan.onlineDrivers.toLocaleString('en-US')} drivers at ${plan.driverHz} Hz`,
  async run(run) {
    const { plan, pool, hub, token } = run.setup;
    const warmupMs = Math.min(plan.warmupMs, 3000);
    const measureMs = plan.shortMeasureMs;
    const alone = await run.observe({}, warmupMs, measureMs, () => pool.run(run.on(run.driverWorkers, run.streamTask(warmupMs, measureMs))));
    run.findings.phases.liveNearbyBaseline = toPhase('Live nearby: the fleet alone, no subscriptions', 'hub', run.driversOffered, alone.value, alone.usage);

    const sockets = Math.ceil(plan.subscriptions / plan.subscriptionsPerSocket);
    const opened = await pool.run(
      run.on([run.readerWorker], {
        kind: 'connect-subscribers',
        hub: { host: '127.0.0.1', port: hub.port },
        sockets,
        perSocket: plan.subscriptionsPerSocket,
        shape: plan.query,
        seed: 13,
        token,
      }),
      (totals) => run.progress.update(`subscribing: ${totals.completed.toLocaleString('en-US')} answered`),
    );
    const subscribed = sockets * plan.subscriptionsPerSocket;
    if (opened.completed !== subscribed) throw new Error(`only ${opened.completed} of ${subscribed} subscriptions answered: ${JSON.stringify(opened.errors)}`);
    run.findings.phases.liveNearbySubscribe = toPhase(
      'Live nearby: subscribe to first list',
      'hub',
      `${subscribed.toLocaleString('en-US')} subscriptions over ${sockets} sockets`,
      opened,
    );

    const watched = await run.observe({}, warmupMs, measureMs, () =>
      Promise.all([
        pool.run(run.on(run.driverWorkers, run.streamTask(warmupMs, measureMs))),
        pool.run(run.on([run.readerWorker], { kind: 'watch-updates', durationMs: warmupMs + measureMs, warmupMs }), (totals) =>
          run.progress.update(formatLive(totals, 'updates')),
        ),
      ]),
    );
    const offered = `${run.driversOffered}, ${subscribed.toLocaleString('en-US')} subscriptions (radius ${plan.query.radiusKm} km, limit ${plan.query.limit})`;
    run.findings.phases.liveNearby = toPhase(
      'Live nearby: updates pushed (latency = hub delay from change to send)',
      'hub',
      offered,
      watched.value[1],
      watched.usage,
    );
    run.findings.phases['liveNearby.drivers'] = toPhase('Live nearby: driver acks meanwhile', 'hub', run.driversOffered, watched.value[0]);
    await pool.run(run.on([run.readerWorker], { kind: 'disconnect-subscribers' }));
  },
};
