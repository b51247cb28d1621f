import { histogramQuantile } from '../observe/metrics-scrape.ts';
import { generatorOverloaded, type LoadPhase, type BenchResult, type TargetRow } from './results.ts';
import { cpuUsPerAckedFrame, cpuUsPerNearby, cpuUsPerNearbyNetOfFrames, hubCoreWaitPercent, hubNearbyQuantileMs, latencyConditions } from './efficiency.ts';
import { KEEPING_UP, STALL_P99_MS } from '../phases/dispatch-storm.ts';
import { scaleOutSection } from './scale-out-section.ts';
import { postgresCeiling } from './targets.ts';
import { LATE_AFTER_MS } from '../load/task-run.ts';

const n = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? 'n/a' : Math.round(value).toLocaleString('en-US'));
const ms = (value: number | null | undefined) => (value === null || value === undefined ? 'n/a' : value < 10 ? value.toFixed(2) : value.toFixed(1));
const pct = (value: number | undefined) => (value === undefined ? 'n/a' : `${Math.round(value)}%`);
const mb = (bytes: number | undefined) => (bytes === undefined ? 'n/a' : `${Math.round(bytes / 2 ** 20)} MB`);
const ratio = (part: number, whole: number) => (whole > 0 ? `${Math.round((part / whole) * 100)}%` : 'n/a');

function errorText(phase: LoadPhase): string {
  const entries = Object.entries(phase.errors);
  if (entries.length === 0) return '0';
  return entries.map(([kind, count]) => `${count} ${kind}`).join(', ');
}

/** The phases shown in the main table, in the order they ran, with a short label for the chart legend. */
export const PHASE_ORDER: Array<[key: string, chartLabel: string]> = [
  ['drivers', 'ack, fleet at steady rate'],
  ['nearbyRedis', 'nearby WS (Redis)'],
  ['nearbyRedis.drivers', ''],
  ['originalRead', 'original read (GEOSEARCH+PG)'],
  ['originalRead.drivers', ''],
  ['liveNearbyBaseline', ''],
  ['liveNearbySubscribe', ''],
  ['liveNearby', 'live nearby: change to update'],
  ['liveNearby.drivers', ''],
  ['dispatchStorm', 'dispatch: request to ride.assigned'],
  ['reconnectStorm', 'reconnect storm: connect to hello'],
  ['fallbackSmall', 'nearby WS, SQL fallback'],
  ['fallbackSmall.drivers', ''],
  ['nearbyCeiling', ''],
  ['originalReadCeiling', ''],
  ['restPost', 'REST POST per update (best)'],
  ['ingestCeiling', ''],
  ['nearbyRedisLarge', 'nearby WS (Redis), large fleet'],
  ['fallbackLarge', 'nearby WS, SQL fallback, large fleet'],
  ['originalReadLarge', 'original read, large fleet'],
];

function roundTripsPer1000(phase: LoadPhase | undefined): string {
  const metrics = phase?.usage?.hubMetrics;
  if (!metrics || !metrics.hub_frames_acked_total) return 'n/a';
  return ((metrics.hub_store_round_trips_total! / metrics.hub_frames_acked_total) * 1000).toFixed(2);
}

function batchStats(phase: LoadPhase | undefined): string {
  const metrics = phase?.usage?.hubMetrics;
  if (!metrics || !metrics.hub_batch_frames_count) return 'n/a';
  const size = metrics.hub_batch_frames_sum! / metrics.hub_batch_frames_count;
  const flushMs = (metrics.hub_flush_duration_seconds_sum! / metrics.hub_flush_duration_seconds_count!) * 1000;
  return `${n(size)} frames per batch, ${flushMs.toFixed(1)} ms per commit`;
}

function phaseTable(result: BenchResult): string[] {
  const lines = [
    '| Phase | Offered load | Done/s | p50 ms | p95 ms | p99 ms | max ms | Hub waited for a core | Generators on time | Errors | Empty answers | Hub CPU | Hub RSS | Hub GC | Hub event-loop lag p99 / max ms | PostgreSQL CPU | Redis CPU | Generators CPU | Machine CPU (load avg) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [key] of PHASE_ORDER) {
    const phase = result.phases[key];
    if (!phase) continue;
    const usage = phase.usage;
    const answering = usage?.processes['fallback hub'] ?? usage?.processes['original-design server'];
    const hubCpu = usage ? `${pct(usage.processes.hub?.cpuPercent)}${answering ? ` (+${pct(answering.cpuPercent)} ${phase.target})` : ''}` : '';
    // A generator that fell behind measured its own backlog: its latencies are not shown as the hub's.
    const overloaded = generatorOverloaded(phase);
    const latency = (value: number | null) => (overloaded ? '—' : ms(value));
    const wait = hubCoreWaitPercent(phase);
    const onTime = phase.generator
      ? `${ratio(phase.generator.onTime, phase.generator.offered)}${overloaded ? ' **generator overloaded**' : ''}`
      : 'closed loop';
    lines.push(
      `| ${phase.label} | ${phase.offered} | ${n(phase.perS)} | ${latency(phase.latencyMs.p50)} | ${latency(phase.latencyMs.p95)} | ${latency(phase.latencyMs.p99)} | ${latency(phase.latencyMs.max)} | ${wait === null ? '' : `${wait.toFixed(1)}%`} | ${onTime} | ${errorText(phase)} | ${phase.counts['empty answers'] === undefined ? '' : n(phase.counts['empty answers'])} | ${hubCpu} | ${usage ? mb(usage.processes.hub?.rssMaxBytes) : ''} | ${usage ? pct(((usage.hubMetrics.hub_nodejs_gc_duration_seconds_sum ?? 0) * 1000 * 100) / usage.wallMs) : ''} | ${usage ? `${usage.hubEventLoopLagMs.p99} / ${usage.hubEventLoopLagMs.max}` : ''} | ${usage ? pct(usage.processes.postgres?.cpuPercent) : ''} | ${usage ? pct(usage.redis.cpuPercent) : ''} | ${usage ? pct(usage.processes.generators?.cpuPercent) : ''} | ${usage ? `${pct(usage.machineCpuPercent)} (${usage.loadAverage})` : ''} |`,
    );
  }
  return lines;
}

function targetTable(rows: TargetRow[]): string[] {
  return [
    '| What | Target | Measured | Result |',
    '|---|---|---|---|',
    ...rows.map((row) => `| ${row.what} | ${row.target} | ${row.measured} | ${row.met === null ? '➖ not judged' : row.met ? '✅ met' : '❌ missed'} |`),
  ];
}

/** CPU per operation and the hub's own nearby time, each next to how long the hub waited for a core meanwhile. */
function efficiencySection(result: BenchResult): string[] {
  const { phases } = result;
  const perFrame = cpuUsPerAckedFrame(phases.drivers);
  const us = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(1)} µs`);
  const hubNearby = (key: string) => `p50 ${ms(hubNearbyQuantileMs(phases[key], 0.5))} ms, p99 ${ms(hubNearbyQuantileMs(phases[key], 0.99))} ms`;
  return [
    '## Efficiency',
    '',
    "Hub CPU (from /proc/<pid>/stat over each measured window) per operation the hub counted in the same window, and the share of the window its main thread was runnable but waited for a core (/proc/<pid>/schedstat): a latency measured while the hub waited for a core says as much about the machine as about the hub. The hub's own nearby time is its `hub_nearby_duration_seconds` histogram (Redis source), bucket-interpolated.",
    '',
    '| Measure | Value | Measured under |',
    '|---|---:|---|',
    `| Hub CPU per acked frame (fleet alone) | ${us(perFrame)} | ${latencyConditions(phases.drivers)} |`,
    `| Hub CPU per nearby query at the ceiling (queries only) | ${us(cpuUsPerNearby(phases.nearbyCeiling))} | ${latencyConditions(phases.nearbyCeiling)} |`,
    `| Hub CPU per nearby query at the fixed rate, the fleet's frames taken out | ${us(cpuUsPerNearbyNetOfFrames(phases.nearbyRedis, perFrame))} | ${latencyConditions(phases.nearbyRedis)} |`,
    `| Hub's own nearby time, fixed rate, fleet streaming | ${hubNearby('nearbyRedis')} | ${latencyConditions(phases.nearbyRedis)} |`,
    `| Hub's own nearby time, at the ceiling | ${hubNearby('nearbyCeiling')} | ${latencyConditions(phases.nearbyCeiling)} |`,
    `| Main hub over the whole run: geo errors, SQL answers, longest event-loop delay | ${n(result.hubTotals.geoErrors)}, ${n(result.hubTotals.sqlAnswers)}, ≤ ${ms(result.hubTotals.longestLoopDelayMs)} ms | |`,
    '',
  ];
}

/** Hub CPU with and without the subscriptions, their updates, and each update's delay from the change to the send. */
function liveNearbySection(result: BenchResult): string[] {
  const { phases, plan } = result;
  const alone = phases.liveNearbyBaseline?.usage;
  const live = phases.liveNearby;
  const withSubs = live?.usage;
  if (!alone || !live || !withSubs) return [];
  const seconds = withSubs.wallMs / 1000;
  const cpuAloneMs = (alone.processes.hub?.cpuPercent ?? 0) * 10;
  const cpuWithMs = (withSubs.processes.hub?.cpuPercent ?? 0) * 10;
  const extraMs = cpuWithMs - cpuAloneMs;
  const metrics = withSubs.hubMetrics;
  const framesPerS = (metrics.hub_frames_acked_total ?? 0) / seconds;
  const visitsPerS = (metrics.hub_subscription_visits_total ?? 0) / seconds;
  const immediate = (q: number) => {
    const seconds_ = histogramQuantile(withSubs.hubHistograms, 'hub_subscription_update_delay_seconds_bucket', 'waited="no"', q);
    return seconds_ === null ? 'n/a (every update waited)' : `${ms(seconds_ * 1000)} ms`;
  };
  const subscribed = phases.liveNearbySubscribe;
  return [
    '## Live nearby (subscriptions)',
    '',
    `${n(plan.subscriptions)} subscriptions (${plan.subscriptionsPerSocket} per rider socket, radius ${plan.query.radiusKm} km, limit ${plan.query.limit}, centres anywhere within ${plan.query.spreadKm} km of Times Square) over ${n(plan.onlineDrivers)} drivers streaming ${plan.driverHz} frame/s each (the load generators' drivers random-walk about 2 m per frame). Two windows of the same fleet, one without and one with the subscriptions:`,
    '',
    '| Window | Hub CPU (% of one core) | Hub CPU, ms per second | Driver ack p99 ms |',
    '|---|---:|---:|---:|',
    `| Fleet alone | ${pct(alone.processes.hub?.cpuPercent)} | ${n(cpuAloneMs)} | ${ms(phases.liveNearbyBaseline?.latencyMs.p99)} |`,
    `| Fleet + ${n(plan.subscriptions)} subscriptions | ${pct(withSubs.processes.hub?.cpuPercent)} | ${n(cpuWithMs)} | ${ms(phases['liveNearby.drivers']?.latencyMs.p99)} |`,
    '',
    `- The subscriptions cost **${n(extraMs)} ms of hub CPU per second** (difference of the two windows; each is a ${n(seconds)} s average on a shared machine, so small differences are noise): ${live.perS > 0 ? `${((extraMs * 1000) / live.perS).toFixed(0)} µs per update sent` : 'no updates'}, ${(extraMs / plan.subscriptions).toFixed(3)} ms per subscription per second.`,
    `- Updates pushed: **${n(live.perS)}/s** (${(live.perS / plan.subscriptions).toFixed(2)} per subscription per second; SUBSCRIPTION_MAX_HZ allows ${result.hubEnv.SUBSCRIPTION_MAX_HZ ?? 2}); ${errorText(live)} errors.`,
    `- Work per committed change: ${n(visitsPerS)} subscription visits/s for ${n(framesPerS)} committed frames/s (${framesPerS > 0 ? (visitsPerS / framesPerS).toFixed(2) : 'n/a'} visits per frame, against ${n(plan.subscriptions)} subscriptions); full searches ${n((metrics.hub_subscription_searches_total ?? 0) / seconds)}/s.`,
    `- **Delay from change to update** (each update's own \`ms\`: from the hub learning of the committed, indexed change to the send): p50 **${ms(live.latencyMs.p50)} ms**, p99 **${ms(live.latencyMs.p99)} ms**. Most of it is the rate limit: an update due less than 1/SUBSCRIPTION_MAX_HZ after the previous one waits for its slot. Updates sent without waiting (hub histogram, bucket-interpolated): p50 ${immediate(0.5)}, p99 ${immediate(0.99)}.`,
    `- First list after \`subscribe\`, measured by the subscribers: p50 ${ms(subscribed?.latencyMs.p50)} ms, p99 ${ms(subscribed?.latencyMs.p99)} ms.`,
    '',
  ];
}

/** Each step of the ramp, and the rate where assignments stopped keeping up. */
function dispatchStormSection(result: BenchResult): string[] {
  const { phases, plan } = result;
  const steps = plan.stormRates
    .map((rate) => [rate, phases[`dispatchStorm.${rate}`]] as const)
    .filter((entry): entry is readonly [number, LoadPhase] => entry[1] !== undefined);
  if (steps.length === 0) return [];
  const best = phases.dispatchStorm;
  const last = steps.at(-1)!;
  const stalledAt = best && last[1] !== best ? last[0] : undefined;
  return [
    '## Dispatch storm',
    '',
    `Ride requests at rising rates, ${n(plan.stormStepMs / 1000)} s per step, from ${n(plan.stormRiders)} riders (one open ride each) at random pickups within ${plan.query.spreadKm} km of Times Square. The ${n(plan.onlineDrivers)} connected drivers (not streaming meanwhile) accept every offer the moment it arrives and then arrive, start and complete the ride at once, so each ride is a full lifecycle: a request, a wave of ${result.hubEnv.DISPATCH_WAVE_SIZE ?? 3} offers, ${result.hubEnv.DISPATCH_WAVE_SIZE ?? 3} competing accepts (one wins), three transitions. Latency is the rider's, from \`ride.request\` sent to \`ride.assigned\` received. A step stalls when assignments fall below ${Math.round(KEEPING_UP * 100)}% of the requests, p99 passes ${n(STALL_P99_MS)} ms, or requests fail; the ramp stops there.`,
    '',
    '| Requests/s offered | Assigned/s | p50 ms | p99 ms | max ms | Unmatched | Errors | Hub CPU | PostgreSQL CPU |',
    '|---:|---:|---:|---:|---:|---:|---|---:|---:|',
    ...steps.map(
      ([rate, step]) =>
        `| ${n(rate)} | ${n(step.perS)} | ${ms(step.latencyMs.p50)} | ${ms(step.latencyMs.p99)} | ${ms(step.latencyMs.max)} | ${n(step.counts.unmatched ?? 0)} | ${errorText(step)} | ${pct(step.usage?.processes.hub?.cpuPercent)} | ${pct(step.usage?.processes.postgres?.cpuPercent)} |`,
    ),
    '',
    best
      ? `- Highest rate kept up with: **${n(best.perS)} assignments/s**, request to assignment p50 **${ms(best.latencyMs.p50)} ms**, p99 **${ms(best.latencyMs.p99)} ms**.${stalledAt === undefined ? ' No step stalled: the ceiling is above the last rate tried.' : ` Assignments stalled at ${n(stalledAt)} requests/s.`}`
      : '- Even the first step stalled.',
    '',
  ];
}

function redisEvidence(result: BenchResult): string[] {
  const lines: string[] = [];
  for (const key of ['nearbyCeiling', 'ingestCeiling', 'nearbyRedisLarge']) {
    const phase = result.phases[key];
    if (!phase?.usage) continue;
    lines.push(
      `**${phase.label}** — Redis CPU ${pct(phase.usage.redis.cpuPercent)} of one core:`,
      '',
      '| Command | Calls | µs per call | Redis CPU |',
      '|---|---:|---:|---:|',
    );
    for (const command of phase.usage.redis.commands)
      lines.push(`| ${command.command} | ${n(command.calls)} | ${command.usecPerCall} | ${command.cpuPercent}% |`);
    lines.push('');
  }
  return lines;
}

/** The Markdown report of one run; `chartFile` is the SVG's name, next to the report. */
export function renderReport(result: BenchResult, chartFile: string, command: string): string {
  const { phases, storeCeilings, idle, plan } = result;
  const pgCeiling = postgresCeiling(result);
  const ingest = phases.ingestCeiling!;
  const rest = phases.restPost!;
  const nearbyCeiling = phases.nearbyCeiling!;
  const geoWrites = ingest.usage?.hubMetrics.hub_geo_positions_written_total;
  const lines: string[] = [
    `# Benchmark report: ${result.startedAt.slice(0, 16).replace('T', ' ')} UTC (${plan.name} run)`,
    '',
    plan.name === 'quick'
      ? '> **Smoke run** (`--quick`): tiny numbers that only prove the benchmark works end to end. The targets below are not meaningful for it.\n'
      : '',
    `Command: \`${command}\` · took ${result.durationS} s · machine: ${result.machine.cores} × ${result.machine.cpu}, ${result.machine.memoryGb} GB, Linux ${result.machine.kernel}, Node ${result.machine.node}, ${result.machine.postgres}, Redis ${result.machine.redis}.`,
    'Hub, PostgreSQL, Redis and the load generators all share this one machine.',
    '',
    '## Summary',
    '',
    ...targetTable(result.targets),
    '',
    "**Issue 12's targets** (efficiency; ➖ where this run cannot judge one: not measured here, a plan below the target's shape, the hub waiting for a core, or generators that fell behind):",
    '',
    ...targetTable(result.efficiencyTargets),
    '',
    `![Latency distributions](${chartFile})`,
    '',
    '## Every phase',
    '',
    "Latencies are measured by the load generators over real sockets (WebSocket round trip, or HTTP request to response). CPU is % of one core, averaged over the measured window; RSS is the largest seen in it. Redis is shared with other users of the machine, so its CPU includes theirs. Machine CPU is the whole box (200% = both cores busy), other users' work included; the gap between it and the sum of our processes is theirs.",
    '',
    ...phaseTable(result),
    '',
    `- Generators on time: an open-loop phase whose generators handled under 95% of their schedule within ${LATE_AFTER_MS} ms of its due time measured their own backlog; its latencies are shown as — and the phase is marked **generator overloaded**. Empty answers: nearby answers that held no driver.`,
    `- PostgreSQL round trips per 1,000 frames: ${roundTripsPer1000(phases.drivers)} at the steady rate (${batchStats(phases.drivers)}); ${roundTripsPer1000(ingest)} at the ingest ceiling (${batchStats(ingest)}).`,
    `- Accepted frames/s (received minus refused, hub counters): ${n(((phases.drivers?.usage?.hubMetrics.hub_frames_received_total ?? 0) - (phases.drivers?.usage?.hubMetrics.hub_frames_refused_total ?? 0)) / ((phases.drivers?.usage?.wallMs ?? 1) / 1000))} at the steady rate, ${n(((ingest.usage?.hubMetrics.hub_frames_received_total ?? 0) - (ingest.usage?.hubMetrics.hub_frames_refused_total ?? 0)) / ((ingest.usage?.wallMs ?? 1) / 1000))} at the ceiling.`,
    `- Idle connections: going from a third to all ${n(idle.connected)} open sockets took the hub from ${mb(idle.baselineRssBytes)} to ${mb(idle.loadedRssBytes)} RSS: **${(idle.bytesPerConnection / 1024).toFixed(2)} KB per connection**, of which ${(idle.heapBytesPerConnection / 1024).toFixed(2)} KB on the JavaScript heap; both readings after a full garbage collection (connect p99 ${ms(idle.connectP99Ms)} ms).`,
    '',
    '## Against the original design (same run)',
    '',
    "**Writes.** One `POST /api/drivers/:id/location` per update (the hub's REST endpoint: one UPDATE + history INSERT statement and one GEOADD per request), at each concurrency:",
    '',
    '| Requests in flight | Updates/s | p99 ms | Errors |',
    '|---:|---:|---:|---:|',
    ...result.restSweep.map((row) => `| ${row.concurrency} | ${n(row.perS)} | ${ms(row.p99Ms)} | ${row.errors} |`),
    '',
    `The WebSocket batch path acked **${n(ingest.perS)} frames/s**: ${(ingest.perS / Math.max(1, rest.perS)).toFixed(1)}× the best per-request rate.`,
    '',
    "**Reads.** The original design's read is GEOSEARCH plus one PostgreSQL enrichment query per HTTP request (rebuilt in `bench/original-design-server.ts`, on the same Redis key and database); the hub answers over WebSocket from Redis and its in-process profile cache.",
    '',
    '| Read path | Fleet | At fixed rate: p50 / p99 ms | Ceiling (answers/s) |',
    '|---|---|---|---:|',
    `| Hub, WebSocket, Redis | ${n(plan.onlineDrivers)} | ${ms(phases.nearbyRedis?.latencyMs.p50)} / ${ms(phases.nearbyRedis?.latencyMs.p99)} | ${n(nearbyCeiling.perS)} |`,
    `| Original design, HTTP, GEOSEARCH + PostgreSQL | ${n(plan.onlineDrivers)} | ${ms(phases.originalRead?.latencyMs.p50)} / ${ms(phases.originalRead?.latencyMs.p99)} | ${n(phases.originalReadCeiling?.perS)} |`,
    `| Hub, WebSocket, SQL fallback | ${n(plan.onlineDrivers)} | ${ms(phases.fallbackSmall?.latencyMs.p50)} / ${ms(phases.fallbackSmall?.latencyMs.p99)} | |`,
    `| Hub, WebSocket, Redis | ${n(plan.largeFleetDrivers)} | ${ms(phases.nearbyRedisLarge?.latencyMs.p50)} / ${ms(phases.nearbyRedisLarge?.latencyMs.p99)} | |`,
    `| Hub, WebSocket, SQL fallback | ${n(plan.largeFleetDrivers)} | ${ms(phases.fallbackLarge?.latencyMs.p50)} / ${ms(phases.fallbackLarge?.latencyMs.p99)} | |`,
    `| Original design, HTTP, GEOSEARCH + PostgreSQL | ${n(plan.largeFleetDrivers)} | ${ms(phases.originalReadLarge?.latencyMs.p50)} / ${ms(phases.originalReadLarge?.latencyMs.p99)} | |`,
    '',
    `Fixed rate: ${n(plan.nearbyPerS)} queries/s for the Redis index and the original design, ${n(plan.fallbackPerS)} queries/s for the SQL fallback (radius ${plan.query.radiusKm} km, limit ${plan.query.limit}, riders anywhere within ${plan.query.spreadKm} km of Times Square); at ${n(plan.onlineDrivers)} drivers the fleet streams ${plan.driverHz} frame/s per driver meanwhile. The original design claimed 14 ms per nearby query and 450 ms on its SQL fallback.`,
    '',
    ...efficiencySection(result),
    ...liveNearbySection(result),
    ...dispatchStormSection(result),
    ...scaleOutSection(result.scaleOut),
    "## The stores' own ceilings (measured in this run)",
    '',
    '| Store operation | Store alone | Hub | Hub as a share |',
    '|---|---:|---:|---:|',
    `| PostgreSQL: batched UPDATE + history INSERT, rows/s (batches of ${n(storeCeilings.postgres.batchRows)}) | ${n(pgCeiling)} (1 connection ${n(storeCeilings.postgres.plainOneConnectionRowsPerS)}, 2 connections ${n(storeCeilings.postgres.plainTwoConnectionsRowsPerS)}) | ${n(ingest.perS)} acked frames/s | ${ratio(ingest.perS, pgCeiling)} |`,
    `| PostgreSQL: the hub's own writeBatch statement, called straight | ${n(storeCeilings.postgres.hubStatementRowsPerS)} | ${n(ingest.perS)} | ${ratio(ingest.perS, storeCeilings.postgres.hubStatementRowsPerS)} |`,
    `| PostgreSQL: the plain statement on copies of the tables without the GiST position index, history foreign key and profile trigger (1 connection) | ${n(storeCeilings.postgres.plainWithoutExtrasRowsPerS)} | | |`,
    `| Redis: GEOADD members/s (${n(storeCeilings.redis.geoaddMembersPerCommand)} per command, pipelined) | ${n(storeCeilings.redis.geoaddMembersPerS)} | ${geoWrites === undefined ? 'n/a' : n(geoWrites / ((ingest.usage?.wallMs ?? 1) / 1000))} positions/s at the ingest ceiling | ${geoWrites === undefined ? 'n/a' : ratio(geoWrites / ((ingest.usage?.wallMs ?? 1) / 1000), storeCeilings.redis.geoaddMembersPerS)} |`,
    `| Redis: GEOSEARCH/s (\`${storeCeilings.redis.geosearchCommand}\`) | ${n(storeCeilings.redis.geosearchPerS)} | ${n(nearbyCeiling.perS)} nearby answers/s | ${ratio(nearbyCeiling.perS, storeCeilings.redis.geosearchPerS)} |`,
    '',
    '## Evidence',
    '',
    ...redisEvidence(result),
  ];
  if (result.profile) {
    lines.push(
      `**Hub CPU profile** (\`--cpu-prof\`, whole run, ${n(result.profile.totalMs)} ms of samples), self time by module:`,
      '',
      '| Module | Self time |',
      '|---|---:|',
    );
    for (const entry of result.profile.modules) lines.push(`| ${entry.name} | ${entry.selfPercent}% |`);
    lines.push('', 'Busiest functions:', '', '| Function | Self time |', '|---|---:|');
    for (const entry of result.profile.functions) lines.push(`| \`${entry.name}\` | ${entry.selfPercent}% |`);
    lines.push('');
  }
  for (const [key, title] of [
    ['fallbackSmall', `SQL fallback query at ${n(plan.onlineDrivers)} drivers`],
    ['fallbackLarge', `SQL fallback query at ${n(plan.largeFleetDrivers)} drivers`],
    ['writeBatch', `The hub's writeBatch statement, ${n(plan.pgBatchRows)} frames`],
  ] as const) {
    if (result.explain[key]) lines.push(`**EXPLAIN (ANALYZE, BUFFERS): ${title}**`, '', '```', result.explain[key], '```', '');
  }
  lines.push(
    '## Configuration',
    '',
    'The hub ran with its production defaults except:',
    '',
    ...Object.entries(result.hubEnv).map(([name, value]) => `- \`${name}=${value}\``),
    '',
    `Plan: \`${JSON.stringify(plan)}\``,
    '',
  );
  return lines.join('\n');
}
