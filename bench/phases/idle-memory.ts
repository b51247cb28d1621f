import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchPhase } from '../bench-run.ts';
import { parsePrometheus, sumMetric } from '../observe/metrics-scrape.ts';
import { readProcess } from '../observe/proc-stats.ts';

/**
 * Memory per idle connection: the slope between a third and all of the
 * sockets, every socket open at both readings. Measured from an empty hub,
 * the allocator's one-time growth and the release of startup garbage made
 * the figure swing from run to run, even below zero. Both readings follow a
 * full garbage collection, so garbage left by the upgrades (token checks,
 * headers) is not counted as connection state.
 */
export const idleMemory: BenchPhase = {
  title: (plan) => `idle connections: ${plan.idleConnections.toLocaleString('en-US')} sockets`,
  async run(run) {
    const { plan, hub, online } = run.setup;
    const settledMemory = async () => {
      // The hub settles (timers, lazy allocations) before it is read: a duration by design.
      await sleep(plan.idleSettleMs);
      await hub.collectGarbage();
      const heap = sumMetric(parsePrometheus(await hub.fetchText('/metrics')), 'hub_nodejs_heap_size_used_bytes');
      return { rss: readProcess(hub.pid)!.rssBytes, heap };
    };
    const [firstWorker, ...otherWorkers] = run.allWorkers;
    const firstThird = Math.floor(plan.idleConnections / 3);
    await run.connectDrivers(online.firstId, firstThird, [firstWorker!]);
    const baseline = await settledMemory();
    const rest = await run.connectDrivers(online.firstId + firstThird, plan.idleConnections - firstThird, otherWorkers);
    const loaded = await settledMemory();
    run.findings.idle = {
      connections: plan.idleConnections,
      connected: firstThird + rest.completed,
      baselineRssBytes: baseline.rss,
      loadedRssBytes: loaded.rss,
      bytesPerConnection: Math.round((loaded.rss - baseline.rss) / Math.max(1, rest.completed)),
      heapBytesPerConnection: Math.round((loaded.heap - baseline.heap) / Math.max(1, rest.completed)),
      connectP99Ms: rest.latency.percentile(99),
    };
    await run.disconnectDrivers(run.allWorkers);
  },
};
