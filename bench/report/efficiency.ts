import { histogramQuantile, parsePrometheus, sumMetric } from '../observe/metrics-scrape.ts';
import { generatorOverloaded, type BenchResult, type HubRunTotals, type LoadPhase, type TargetRow } from './results.ts';
import { postgresCeiling } from './targets.ts';

/** Above this share of the window spent waiting for a core, a latency says more about the machine than about the hub. */
export const CORE_WAIT_CEILING_PERCENT = 10;

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number | null) => (value === null ? 'n/a' : `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`);

/** Hub CPU in µs per operation over a phase's window; null without a window or operations. */
export function hubCpuUsPer(phase: LoadPhase | undefined, operations: number | undefined): number | null {
  const cpuMs = phase?.usage?.processes.hub?.cpuMs;
  return cpuMs === undefined || !operations ? null : (cpuMs * 1000) / operations;
}

/** Hub CPU per frame it acked in the phase's window. */
export function cpuUsPerAckedFrame(phase: LoadPhase | undefined): number | null {
  return hubCpuUsPer(phase, phase?.usage?.hubMetrics.hub_frames_acked_total);
}

/** Hub CPU per nearby query it answered in the phase's window, all of it charged to the queries. */
export function cpuUsPerNearby(phase: LoadPhase | undefined): number | null {
  return hubCpuUsPer(phase, phase?.usage?.hubMetrics.hub_nearby_duration_seconds_count);
}

/**
 * Hub CPU per nearby query in a window where the fleet streams too: the
 * frames' share (at `perFrameUs`, from the fleet-alone phase) taken out first.
 */
export function cpuUsPerNearbyNetOfFrames(phase: LoadPhase | undefined, perFrameUs: number | null): number | null {
  const usage = phase?.usage;
  const queries = usage?.hubMetrics.hub_nearby_duration_seconds_count;
  const cpuMs = usage?.processes.hub?.cpuMs;
  if (!usage || !queries || cpuMs === undefined || perFrameUs === null) return null;
  const framesUs = (usage.hubMetrics.hub_frames_acked_total ?? 0) * perFrameUs;
  return Math.max(0, cpuMs * 1000 - framesUs) / queries;
}

/** Share of the window the hub's main thread waited for a core. */
export function hubCoreWaitPercent(phase: LoadPhase | undefined): number | null {
  return phase?.usage?.processes.hub?.coreWaitPercent ?? null;
}

/** The hub's own time per nearby query from the Redis index, q-quantile over the window, in ms (bucket-interpolated). */
export function hubNearbyQuantileMs(phase: LoadPhase | undefined, q: number): number | null {
  const histograms = phase?.usage?.hubHistograms;
  if (!histograms) return null;
  const seconds = histogramQuantile(histograms, 'hub_nearby_duration_seconds_bucket', 'source="redis"', q);
  return seconds === null ? null : seconds * 1000;
}

/** Upper bound of the longest event-loop delay in cumulative `hub_event_loop_delay_seconds` buckets, in ms; null with no samples. */
export function longestLoopDelayMs(buckets: Map<string, number> | Record<string, number>): number | null {
  const entries = buckets instanceof Map ? [...buckets] : Object.entries(buckets);
  const bounds: Array<{ le: number; count: number }> = [];
  for (const [key, count] of entries) {
    if (!key.startsWith('hub_event_loop_delay_seconds_bucket{')) continue;
    const le = /le="([^"]+)"/.exec(key)?.[1];
    if (le !== undefined) bounds.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count });
  }
  bounds.sort((a, b) => a.le - b.le);
  const total = bounds.at(-1)?.count ?? 0;
  if (total <= 0) return null;
  const first = bounds.find((bound) => bound.count >= total)!;
  return Number.isFinite(first.le) ? first.le * 1000 : Number.POSITIVE_INFINITY;
}

/** The main hub's counters over the whole run, from one scrape before it stops. */
export function hubRunTotals(metricsText: string): HubRunTotals {
  const series = parsePrometheus(metricsText);
  return {
    geoErrors: sumMetric(series, 'hub_geo_errors_total'),
    sqlAnswers: series.get('hub_nearby_duration_seconds_count{source="sql"}') ?? 0,
    longestLoopDelayMs: longestLoopDelayMs(series),
  };
}

/** What a latency was measured under: the hub's wait for a core, and whether the generators kept up. */
export function latencyConditions(phase: LoadPhase | undefined): string {
  const wait = hubCoreWaitPercent(phase);
  const parts = [wait === null ? 'hub core wait n/a' : `hub waited for a core ${wait.toFixed(1)}% of the time`];
  if (generatorOverloaded(phase)) parts.push('generator overloaded');
  return parts.join(', ');
}

/** Issue 12's targets, each judged against this run's numbers; null where this run cannot judge it. */
export function evaluateEfficiencyTargets(result: BenchResult): TargetRow[] {
  const { phases, plan, storeCeilings, hubTotals } = result;
  const fleet = phases.drivers;
  const nearby = phases.nearbyRedis;
  const ceiling = phases.nearbyCeiling;
  const ingest = phases.ingestCeiling;
  const perFrame = cpuUsPerAckedFrame(fleet);
  const targetShape = plan.nearbyPerS >= 1000 && plan.onlineDrivers >= 10_000 && plan.driverHz >= 1;
  const shape = `${n(plan.nearbyPerS)} q/s, ${n(plan.onlineDrivers)} drivers at ${plan.driverHz} Hz`;
  const hubNearbyP99 = hubNearbyQuantileMs(nearby, 0.99);
  const wait = hubCoreWaitPercent(nearby);
  const pgCeiling = postgresCeiling(result);
  const geosearch = storeCeilings.redis.geosearchPerS;
  const storm = phases.reconnectStorm;
  const stormStall = storm?.usage ? longestLoopDelayMs(storm.usage.hubHistograms) : null;
  const judged = (phase: LoadPhase | undefined, met: boolean) => (generatorOverloaded(phase) ? null : met);
  return [
    {
      what: 'Hub CPU per acked frame',
      target: '≤ 4 µs',
      measured:
        perFrame === null
          ? 'n/a'
          : `${perFrame.toFixed(1)} µs (${n(fleet?.usage?.hubMetrics.hub_frames_acked_total ?? 0)} frames, fleet alone; ${latencyConditions(fleet)})`,
      met: perFrame === null ? null : judged(fleet, perFrame <= 4),
    },
    {
      what: `Hub's own nearby time p99, ${shape}, default reconcile`,
      target: '≤ 5 ms',
      measured: `${ms(hubNearbyP99)} (hub histogram, bucket-interpolated; ${latencyConditions(nearby)})`,
      met: hubNearbyP99 === null || !targetShape ? null : judged(nearby, hubNearbyP99 <= 5),
    },
    {
      what: `Nearby round-trip p99, same phase, when the hub waits for a core < ${CORE_WAIT_CEILING_PERCENT}% of the time`,
      target: '≤ 10 ms',
      measured: `${ms(nearby?.latencyMs.p99 ?? null)} (${latencyConditions(nearby)})`,
      met:
        nearby?.latencyMs.p99 == null || wait === null || wait >= CORE_WAIT_CEILING_PERCENT || !targetShape ? null : judged(nearby, nearby.latencyMs.p99 <= 10),
    },
    {
      what: 'Nearby ceiling vs raw GEOSEARCH at the same shape, same run',
      target: '≥ 80%',
      measured: `${n(ceiling?.perS ?? 0)} / ${n(geosearch)} per s = ${geosearch > 0 ? Math.round(((ceiling?.perS ?? 0) / geosearch) * 100) : 0}%`,
      met: ceiling && geosearch > 0 ? ceiling.perS >= geosearch * 0.8 : null,
    },
    {
      what: "Ingest ceiling vs PostgreSQL's plain batched ceiling, same run",
      target: '≥ 60%',
      measured: `${n(ingest?.perS ?? 0)} / ${n(pgCeiling)} rows/s = ${pgCeiling > 0 ? Math.round(((ingest?.perS ?? 0) / pgCeiling) * 100) : 0}%`,
      met: ingest && pgCeiling > 0 ? ingest.perS >= pgCeiling * 0.6 : null,
    },
    {
      what: 'Longest event-loop stall, 10,000 drivers reconnecting at once',
      target: '≤ 50 ms',
      measured:
        stormStall === null
          ? 'n/a'
          : `≤ ${ms(stormStall)} (${n(storm?.completed ?? 0)} of ${n(plan.onlineDrivers)} drivers resumed; longest loop delay of the main hub over the whole run: ≤ ${ms(hubTotals.longestLoopDelayMs)})`,
      met: stormStall === null || plan.onlineDrivers < 10_000 ? null : stormStall <= 50,
    },
    {
      what: 'Geo errors or SQL answers on the main hub (its Redis is healthy all run)',
      target: '0',
      measured: `${n(hubTotals.geoErrors)} geo errors, ${n(hubTotals.sqlAnswers)} SQL answers`,
      met: hubTotals.geoErrors === 0 && hubTotals.sqlAnswers === 0,
    },
  ];
}
