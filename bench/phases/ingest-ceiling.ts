import { TIMES_SQUARE } from '../../src/public/fleet.ts';
import { explainWriteBatch } from '../../src/public/setup.ts';
import { formatLive, toPhase, type BenchPhase } from '../bench-run.ts';

/** Every driver keeps frames unacknowledged at all times: how many frames per second the hub acks. */
export const ingestCeiling: BenchPhase = {
  title: (plan) => `ingest ceiling: ${plan.ceilingDrivers.toLocaleString('en-US')} drivers × ${plan.ceilingFrameWindow} frames in flight`,
  async run(run) {
    const { plan, online, pool, database } = run.setup;
    await run.connectDrivers(online.firstId, plan.ceilingDrivers, run.allWorkers);
    const warmupMs = Math.min(plan.warmupMs, 3000);
    const { value, usage } = await run.observe({}, warmupMs, plan.shortMeasureMs, () =>
      pool.runAll(
        { kind: 'stream-window', window: plan.ceilingFrameWindow, durationMs: warmupMs + plan.shortMeasureMs, warmupMs, center: run.center },
        (totals) => run.progress.update(formatLive(totals, 'acked')),
      ),
    );
    run.findings.phases.ingestCeiling = toPhase(
      'Ingest ceiling, WebSocket batch path',
      'hub',
      `${plan.ceilingDrivers.toLocaleString('en-US')} drivers × ${plan.ceilingFrameWindow} unacked frames`,
      value,
      usage,
    );
    await run.disconnectDrivers(run.allWorkers);

    // The plan of one full batch through the hub's own statement, above every seq written so far.
    const { rows } = await database.query<{ top: string }>('SELECT max(last_seq)::text AS top FROM drivers');
    const seq = Number(rows[0]!.top) + 1;
    const ids = Array.from({ length: Math.min(plan.pgBatchRows, plan.onlineDrivers) }, (_, index) => online.firstId + index);
    const now = Date.now();
    run.findings.explain.writeBatch = await explainWriteBatch(database.url, {
      driverIds: ids,
      seqs: ids.map(() => seq),
      lats: ids.map((_, index) => TIMES_SQUARE.lat + (index % 100) * 1e-4),
      lngs: ids.map((_, index) => TIMES_SQUARE.lng - (index % 100) * 1e-4),
      recordedAtMs: ids.map(() => now),
      receivedAtMs: ids.map(() => now),
      statusDriverIds: [],
      statuses: [],
    });
  },
};
