import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { HubProcess } from '../../tools/testkit/hub-process.ts';

const READY_TIMEOUT_MS = 120_000;

export interface SupervisedHub {
  hub: HubProcess;
  /** The worker processes, the supervisor's children: the hubs that do the work. */
  workerPids: number[];
}

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text === '' ? [] : text.split(/\s+/).map(Number);
}

/**
 * `npm start` with HUB_WORKERS=`workers`, as production runs it: a
 * supervisor and its workers on one port. Ready once every worker serves
 * (the supervisor prints its banner only then) and the stores answer.
 */
export async function startSupervisedHub(label: string, workers: number, env: Record<string, string>): Promise<SupervisedHub> {
  const hub = await HubProcess.start({ label, readyPath: '/readyz', readyTimeoutMs: READY_TIMEOUT_MS, env: { ...env, HUB_WORKERS: String(workers) } });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!hub.output().includes('dispatch hub ready')) {
    if (Date.now() > deadline) {
      await hub.kill();
      throw new Error(`${label}: the supervisor did not report every worker serving within ${READY_TIMEOUT_MS} ms:\n${hub.output()}`);
    }
    await sleep(100);
  }
  const workerPids = workers > 1 ? childrenOf(hub.pid) : [hub.pid];
  if (workerPids.length !== workers) {
    await hub.kill();
    throw new Error(`${label}: expected ${workers} worker processes, found ${workerPids.length}`);
  }
  return { hub, workerPids };
}
