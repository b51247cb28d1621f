import type { HubProcess } from '../../tools/testkit/hub-process.ts';
import { metricDeltas, parsePrometheus, seriesDeltas, sumMetric } from './metrics-scrape.ts';
import { cpus, loadavg } from 'node:os';
import { MachineWindow, UsageWindow, type UsageSummary } from './proc-stats.ts';
import { readRedisStats, redisWindow, type RedisWindow } from './redis-stats.ts';

/** The hub metrics whose change over a window the report uses. */
export const WATCHED_METRICS = [
  'hub_frames_received_total',
  'hub_frames_acked_total',
  'hub_frames_refused_total',
  'hub_frames_duplicate_total',
  'hub_store_round_trips_total',
  'hub_batch_frames_sum',
  'hub_batch_frames_count',
  'hub_flush_duration_seconds_sum',
  'hub_flush_duration_seconds_count',
  'hub_nearby_duration_seconds_count',
  'hub_geo_positions_written_total',
  'hub_upgrades_refused_total',
  'hub_nodejs_gc_duration_seconds_sum',
  'hub_subscription_searches_total',
  'hub_subscription_visits_total',
  'hub_subscription_update_delay_seconds_count',
] as const;

/** Histograms whose buckets the report reads quantiles from, series by series. */
export const WATCHED_HISTOGRAMS = [
  'hub_subscription_update_delay_seconds_bucket',
  'hub_nearby_duration_seconds_bucket',
  'hub_event_loop_delay_seconds_bucket',
] as const;

export interface MachineUsage {
  wallMs: number;
  /** CPU (% of one core) and memory per process group: hub, postgres, generators, and any extra. */
  processes: Record<string, UsageSummary>;
  /** Redis INFO over the window; the server is shared, so others' commands are in it too. */
  redis: RedisWindow;
  /** Change of each WATCHED_METRICS series of the main hub. */
  hubMetrics: Record<string, number>;
  /** Change of each bucket of the WATCHED_HISTOGRAMS of the main hub, by series. */
  hubHistograms: Record<string, number>;
  /** The whole machine's CPU use over the window, % of one core, everyone's work included. */
  machineCpuPercent: number;
  /** The 1-minute load average at the end of the window. */
  loadAverage: number;
  /**
   * The main hub's event-loop delay over the window (prom-client resets its
   * monitor at every scrape, and the window opens with one): how long work
   * waited for the hub's single thread, whether for its own work, garbage
   * collection, or a core.
   */
  hubEventLoopLagMs: { p99: number; max: number };
}

export interface ObserveTargets {
  hub: HubProcess;
  redisUrl: string;
  /** Process groups to sample, by name: `hub`, `postgres`, `generators`, ... */
  processes: Record<string, () => number[]>;
}

/**
 * Watches the machine over the measured part of a phase only (after the
 * warm-up, before the drain), so CPU, memory and hub counters describe the
 * same seconds as the latencies.
 */
export async function observeWindow<T>(
  targets: ObserveTargets,
  warmupMs: number,
  measureMs: number,
  work: () => Promise<T>,
): Promise<{ value: T; usage: MachineUsage }> {
  const window = new Promise<void>((resolve) => setTimeout(resolve, warmupMs)).then(async (): Promise<MachineUsage> => {
    const metricsBefore = parsePrometheus(await targets.hub.fetchText('/metrics'));
    const redisBefore = await readRedisStats(targets.redisUrl);
    const windows = Object.entries(targets.processes).map(([name, pids]) => [name, new UsageWindow(pids)] as const);
    const machine = new MachineWindow();
    const openedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, measureMs));
    const [metricsAfter, redisAfter] = await Promise.all([targets.hub.fetchText('/metrics').then(parsePrometheus), readRedisStats(targets.redisUrl)]);
    const wallMs = performance.now() - openedAt;
    return {
      wallMs,
      processes: Object.fromEntries(windows.map(([name, usage]) => [name, usage.finish()])),
      redis: redisWindow(redisBefore, redisAfter, wallMs),
      hubMetrics: metricDeltas(metricsBefore, metricsAfter, WATCHED_METRICS),
      hubHistograms: seriesDeltas(metricsBefore, metricsAfter, WATCHED_HISTOGRAMS),
      machineCpuPercent: machine.finish(cpus().length),
      hubEventLoopLagMs: {
        p99: Math.round(sumMetric(metricsAfter, 'hub_nodejs_eventloop_lag_p99_seconds') * 1e4) / 10,
        max: Math.round(sumMetric(metricsAfter, 'hub_nodejs_eventloop_lag_max_seconds') * 1e4) / 10,
      },
      loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    };
  });
  const [value, usage] = await Promise.all([work(), window]);
  return { value, usage };
}
