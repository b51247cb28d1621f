import { cpus } from 'node:os';
import type { ScaleOutMeasure, ScaleOutResult, ScaleOutRow } from './scale-out-result.ts';

const n = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const ms = (value: number | null) => (value === null ? 'n/a' : value < 10 ? value.toFixed(2) : value.toFixed(1));
const pct = (value: number) => `${Math.round(value)}%`;
/** CPU % of one core over a window, per operation per second: microseconds of CPU per operation. */
const usPer = (cpuPercent: number, perS: number) => (perS > 0 ? ((cpuPercent * 10_000) / perS).toFixed(1) : 'n/a');
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

function errors(measure: ScaleOutMeasure): string {
  const entries = Object.entries(measure.errors);
  return entries.length === 0 ? '0' : entries.map(([kind, count]) => `${count} ${kind}`).join(', ');
}

/**
 * What held this ceiling, from the same window's CPU: the machine when its
 * cores are nearly all busy, else a single thread (a hub worker or a Redis
 * node) near one full core, else the load offered.
 */
export function scaleOutBottleneck(measure: ScaleOutMeasure, row: ScaleOutRow): string {
  const { usage } = measure;
  const cores = cpus().length;
  if (usage.machineCpuPercent >= cores * 100 * 0.85) return `the machine: ${pct(usage.machineCpuPercent)} of ${cores * 100}% busy`;
  const busiestHub = Math.max(...usage.hubCpuPercent);
  if (busiestHub >= 85) return `a hub process's one thread (${pct(busiestHub)})`;
  if (row.redisNodes === 1 && usage.redisCpuPercent >= 85) return `Redis's one thread (${pct(usage.redisCpuPercent)})`;
  return 'the offered load (no process or core saturated)';
}

function measureRow(row: ScaleOutRow, what: 'nearby' | 'ingest'): string {
  const measure = row[what];
  const { usage } = measure;
  const hubTotal = sum(usage.hubCpuPercent);
  return `| ${row.label} | ${what === 'nearby' ? 'nearby answers' : 'acked frames'} | ${n(measure.perS)} | ${n(measure.perS / row.workers)} | ${ms(measure.latencyMs.p50)} / ${ms(measure.latencyMs.p99)} | ${errors(measure)} | ${usage.hubCpuPercent.map(pct).join(' + ')} | ${usPer(hubTotal, measure.perS)} | ${pct(usage.redisCpuPercent)} | ${usPer(usage.redisCpuPercent, measure.perS)} | ${pct(usage.postgresCpuPercent)} | ${usPer(usage.postgresCpuPercent, measure.perS)} | ${pct(usage.generatorsCpuPercent)} | ${pct(usage.machineCpuPercent)} (${usage.loadAverage}) | ${scaleOutBottleneck(measure, row)} |`;
}

function compare(result: ScaleOutResult, what: 'nearby' | 'ingest', redis: ScaleOutRow['redis']): string | null {
  const one = result.rows.find((row) => row.workers === 1 && row.redis === redis);
  const two = result.rows.find((row) => row.workers === 2 && row.redis === redis);
  if (!one || !two || one[what].perS === 0) return null;
  return `${n(one[what].perS)} → ${n(two[what].perS)}/s (${(two[what].perS / one[what].perS).toFixed(2)}×)`;
}

/** Live nearby on the one-process layout: the hub CPU the subscriptions add, per update pushed and per subscription. */
function subscriptionLines(result: ScaleOutResult): string[] {
  const row = result.rows.find((candidate) => candidate.subscriptions);
  const live = row?.subscriptions;
  if (!row || !live) return [];
  const extraHub = live.hubCpuWithPercent - live.hubCpuAlonePercent;
  const extraRedis = live.redisCpuWithPercent - live.redisCpuAlonePercent;
  const errorText =
    Object.entries(live.errors)
      .map(([kind, count]) => `${count} ${kind}`)
      .join(', ') || 'no errors';
  return [
    `- **Live nearby, ${row.label}**: ${n(live.subscribed)} of ${n(result.sizes.subscriptions)} subscriptions open (${errorText}; radius and limit as the nearby queries) while ${n(result.sizes.drivers)} drivers stream ${result.sizes.subscriptionDriverHz} frame/s each (${n(live.framesPerS)} acked frames/s). Hub CPU ${pct(live.hubCpuAlonePercent)} without them, ${pct(live.hubCpuWithPercent)} with them; Redis ${pct(live.redisCpuAlonePercent)} → ${pct(live.redisCpuWithPercent)}. Updates pushed: ${n(live.updatesPerS)}/s (${live.subscribed > 0 ? (live.updatesPerS / live.subscribed).toFixed(2) : 'n/a'} per subscription per second), change-to-send delay p50 ${ms(live.updateDelayMs.p50)} ms, p99 ${ms(live.updateDelayMs.p99)} ms. **Hub CPU per update: ${usPer(extraHub, live.updatesPerS)} µs**; per subscription: ${live.subscribed > 0 ? ((extraHub * 10) / live.subscribed).toFixed(3) : 'n/a'} ms of CPU per second; Redis per update ${usPer(extraRedis, live.updatesPerS)} µs (differences of two windows on a shared machine: small ones are noise).`,
  ];
}

/** The scale-out section of the report: each layout's ceilings, the per-process figures, and where the ceiling is. */
export function scaleOutSection(result: ScaleOutResult | undefined): string[] {
  if (!result) return [];
  const { sizes, rows } = result;
  const lines = [
    '## Scale-out: hub processes × Redis layout',
    '',
    `Each layout is \`npm start\` with \`HUB_WORKERS\` set (a supervisor and its workers sharing the port; the kernel spreads the generators' connections over them) on a private redis-server or a private ${rows.find((row) => row.redis === 'cluster')?.redisNodes ?? 3}-master Redis Cluster (so Redis CPU is this layout's alone), the same PostgreSQL database, and the same load generators. Nearby ceiling: ${n(sizes.ridersPerGenerator)} rider sockets and ${sizes.queriesInFlightPerGenerator} queries in flight per generator. Ingest ceiling: ${n(sizes.drivers)} drivers each keeping ${sizes.frameWindow} frames unacknowledged, from every generator but the last (which holds the riders). ${(sizes.warmupMs / 1000).toFixed(1)} s warm-up, ${(sizes.measureMs / 1000).toFixed(1)} s measured. CPU in % of one core; µs per operation is that CPU divided by the operations per second.`,
    '',
    '| Layout | Ceiling | Total/s | Per process/s | p50 / p99 ms | Errors | Hub CPU per process | Hub µs per op | Redis CPU | Redis µs per op | PostgreSQL CPU | PostgreSQL µs per op | Generators CPU | Machine CPU (load avg) | Held by |',
    '|---|---|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows.map((row) => measureRow(row, 'nearby')),
    ...rows.map((row) => measureRow(row, 'ingest')),
    '',
  ];
  const comparisons = (['single', 'cluster'] as const).flatMap((redis) =>
    (['nearby', 'ingest'] as const).map((what) => {
      const text = compare(result, what, redis);
      return text ? `- ${what === 'nearby' ? 'Nearby' : 'Ingest'}, ${redis === 'single' ? 'one Redis' : 'Redis Cluster'}, 1 → 2 hub processes: ${text}.` : null;
    }),
  );
  lines.push(
    ...comparisons.filter((line): line is string => line !== null),
    ...subscriptionLines(result),
    `- **Where the ceiling is on this machine.** ${cpus().length} cores carry the hub processes, Redis, PostgreSQL and the load generators together. When "Held by" says the machine, a second hub process cannot add throughput: it splits the same cores (and the generators, which need a core of their own at these rates, take their share), so the per-process CPU per operation, not this box's total, is the figure that carries to a larger machine. Where a single thread holds the ceiling (one hub's event loop, or one Redis), a second process or a cluster's other masters are what lift it.`,
    '',
  );
  return lines;
}
