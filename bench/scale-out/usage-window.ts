import { cpus, loadavg } from 'node:os';
import { MachineWindow, UsageWindow } from '../observe/proc-stats.ts';
import { readRedisStats } from '../observe/redis-stats.ts';

/** What the processes of one scale-out configuration used over a measured window, CPU in % of one core. */
export interface ScaleOutUsage {
  wallMs: number;
  /** Each hub worker on its own, in worker order. */
  hubCpuPercent: number[];
  /** Every Redis node together (one, or the cluster's masters), by each node's own INFO. */
  redisCpuPercent: number;
  postgresCpuPercent: number;
  generatorsCpuPercent: number;
  /** The whole machine (200% = both cores busy), everyone's work included. */
  machineCpuPercent: number;
  loadAverage: number;
}

export interface ScaleOutSources {
  hubPids: number[];
  redisUrls: string[];
  /** Asked once the warm-up is over: a hub opens its batch connections only when frames arrive. */
  postgresPids: () => Promise<number[]>;
  generatorPids: number[];
}

async function redisCpuSeconds(urls: string[]): Promise<number> {
  const stats = await Promise.all(urls.map((url) => readRedisStats(url)));
  return stats.reduce((sum, node) => sum + node.cpuSeconds, 0);
}

/**
 * Runs `work` and samples the hub workers one by one, Redis, PostgreSQL,
 * the generators and the machine over its measured part only (after
 * `warmupMs`), as the main phases' observeWindow does for the single hub.
 */
export async function observeScaleOut<T>(
  sources: ScaleOutSources,
  warmupMs: number,
  measureMs: number,
  work: () => Promise<T>,
): Promise<{ value: T; usage: ScaleOutUsage }> {
  const window = new Promise<void>((resolve) => setTimeout(resolve, warmupMs)).then(async (): Promise<ScaleOutUsage> => {
    const [redisBefore, postgresPids] = await Promise.all([redisCpuSeconds(sources.redisUrls), sources.postgresPids()]);
    const hubs = sources.hubPids.map((pid) => new UsageWindow(() => [pid]));
    const postgres = new UsageWindow(() => postgresPids);
    const generators = new UsageWindow(() => sources.generatorPids);
    const machine = new MachineWindow();
    const openedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, measureMs));
    const redisAfter = await redisCpuSeconds(sources.redisUrls);
    const wallMs = performance.now() - openedAt;
    return {
      wallMs,
      hubCpuPercent: hubs.map((hub) => hub.finish().cpuPercent),
      redisCpuPercent: ((redisAfter - redisBefore) * 1000 * 100) / wallMs,
      postgresCpuPercent: postgres.finish().cpuPercent,
      generatorsCpuPercent: generators.finish().cpuPercent,
      machineCpuPercent: machine.finish(cpus().length),
      loadAverage: Math.round(loadavg()[0]! * 100) / 100,
    };
  });
  const [value, usage] = await Promise.all([work(), window]);
  return { value, usage };
}
