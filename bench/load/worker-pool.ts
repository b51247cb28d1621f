import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LatencyHistogram } from '../../clients/lib/latency-histogram.ts';
import type { LoadTask, TaskResult, WorkerMessage } from './load-protocol.ts';

const WORKER_ENTRY = fileURLToPath(new URL('./load-worker.ts', import.meta.url));

/** The workers' TaskResults added up (measuredMs: the longest), their histograms merged into one. */
export interface MergedResult extends Omit<TaskResult, 'latency'> {
  latency: LatencyHistogram;
}

export interface LiveTotals {
  sent: number;
  completed: number;
  p99Ms: number | null;
}

interface Worker {
  child: ChildProcess;
  latest: LiveTotals;
  pid: number;
}

function addInto(target: Record<string, number>, source: Record<string, number>): void {
  for (const [key, value] of Object.entries(source)) target[key] = (target[key] ?? 0) + value;
}

/** Splits `total` into `parts` near-equal whole shares. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, index) => Math.floor(total / parts) + (index < total % parts ? 1 : 0));
}

/** The load-generator processes, each started once and given one task at a time. */
export class WorkerPool {
  private constructor(private readonly workers: Worker[]) {}

  static async start(count: number): Promise<WorkerPool> {
    const workers = await Promise.all(
      Array.from({ length: count }, () => {
        const child = fork(WORKER_ENTRY, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        return new Promise<Worker>((resolve, reject) => {
          child.once('error', reject);
          child.once('exit', (code) => reject(new Error(`load worker exited with ${code} before it was ready`)));
          child.once('message', (message: WorkerMessage) => {
            if (message.type === 'ready') resolve({ child, pid: child.pid!, latest: { sent: 0, completed: 0, p99Ms: null } });
          });
        });
      }),
    );
    return new WorkerPool(workers);
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((worker) => worker.pid);
  }

  /** Runs `tasks[i]` on worker i (undefined: that worker sits this one out) and merges the results. */
  async run(tasks: Array<LoadTask | undefined>, onProgress?: (totals: LiveTotals) => void): Promise<MergedResult> {
    if (tasks.length > this.workers.length) throw new RangeError(`${tasks.length} tasks for ${this.workers.length} workers`);
    const involved = this.workers.filter((_, index) => tasks[index] !== undefined);
    const report = onProgress && (() => onProgress(this.totals(involved)));
    const results = await Promise.all(tasks.map((task, index) => (task ? this.runOne(this.workers[index]!, task, report) : Promise.resolve(undefined))));
    const merged: MergedResult = {
      sent: 0,
      completed: 0,
      offered: 0,
      onTime: 0,
      measuredMs: 0,
      latency: new LatencyHistogram(),
      errors: {},
      counts: {},
      workerCpuMs: 0,
    };
    for (const result of results) {
      if (!result) continue;
      merged.sent += result.sent;
      merged.completed += result.completed;
      merged.offered += result.offered;
      merged.onTime += result.onTime;
      merged.measuredMs = Math.max(merged.measuredMs, result.measuredMs);
      merged.latency.merge(result.latency);
      addInto(merged.errors, result.errors);
      addInto(merged.counts, result.counts);
      merged.workerCpuMs += result.workerCpuMs;
    }
    return merged;
  }

  /** Same task on every worker. */
  runAll(task: LoadTask, onProgress?: (totals: LiveTotals) => void): Promise<MergedResult> {
    return this.run(
      this.workers.map(() => task),
      onProgress,
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (worker) =>
          new Promise<void>((resolve) => {
            if (worker.child.exitCode !== null) return resolve();
            worker.child.once('exit', () => resolve());
            worker.child.disconnect();
            setTimeout(() => worker.child.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
  }

  private runOne(worker: Worker, task: LoadTask, onProgress?: () => void): Promise<TaskResult> {
    worker.latest = { sent: 0, completed: 0, p99Ms: null };
    return new Promise((resolve, reject) => {
      const onMessage = (message: WorkerMessage) => {
        if (message.type === 'progress') {
          worker.latest = message;
          onProgress?.();
          return;
        }
        worker.child.off('message', onMessage);
        worker.child.off('exit', onExit);
        if (message.type === 'done') resolve(message.result);
        else if (message.type === 'failed') reject(new Error(`load worker ${worker.pid}: ${message.error}`));
      };
      const onExit = (code: number | null) => reject(new Error(`load worker ${worker.pid} exited (${code}) during ${task.kind}`));
      worker.child.on('message', onMessage);
      worker.child.once('exit', onExit);
      worker.child.send(task);
    });
  }

  private totals(workers: Worker[]): LiveTotals {
    let sent = 0;
    let completed = 0;
    let p99Ms: number | null = null;
    for (const worker of workers) {
      sent += worker.latest.sent;
      completed += worker.latest.completed;
      if (worker.latest.p99Ms !== null) p99Ms = Math.max(p99Ms ?? 0, worker.latest.p99Ms);
    }
    return { sent, completed, p99Ms };
  }
}
