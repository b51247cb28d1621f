import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '../logger.ts';
import { WorkerStartError } from './worker-errors.ts';
import { isWorkerReady, type WorkerReady } from './worker-link.ts';

/** A restart waits this long after a crash, doubling per crash in a row up to RESTART_MAX_MS... */
const RESTART_FIRST_MS = 250;
const RESTART_MAX_MS = 10_000;
/** ...and a worker that served this long before it died starts again from RESTART_FIRST_MS. */
const HEALTHY_AFTER_MS = 30_000;

export interface SupervisorOptions {
  count: number;
  /** The hub entry each worker runs, with `--worker-index <i>` appended. */
  entry: string;
  /** Node flags for the workers: the supervisor's own (`--import tsx`), so they run as it does. */
  execArgv: string[];
  /** The workers' environment: the supervisor's, with the shared PORT and HUB_SHARE_PORT=true. */
  env: NodeJS.ProcessEnv;
  logger: Logger;
}

interface WorkerSlot {
  index: number;
  child: ChildProcess | null;
  startedAt: number;
  crashesInARow: number;
  /** Whether this slot has had a worker that served: until then an exit is a failed start, not a crash. */
  everServed: boolean;
  restartTimer: NodeJS.Timeout | null;
}

/**
 * Runs `count` hub workers and keeps them running: a worker that exits
 * while the supervisor is not stopping is started again, after a backoff,
 * and every exit and restart is logged with the worker's index and pid.
 */
export class WorkerSupervisor {
  private readonly slots: WorkerSlot[];
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {
    this.slots = Array.from({ length: options.count }, (_, index) => ({
      index,
      child: null,
      startedAt: 0,
      crashesInARow: 0,
      everServed: false,
      restartTimer: null,
    }));
  }

  /** Starts every worker; resolves with the first one's report once all serve, rejects if one exits before it does. */
  async start(): Promise<WorkerReady> {
    const reports = await Promise.all(this.slots.map((slot) => this.launch(slot)));
    return reports[0]!;
  }

  /** SIGTERM to every worker (each drains its acks); resolves true once all have exited, true if all exited 0. */
  async stop(): Promise<boolean> {
    this.stopping = true;
    const exits = this.slots.map((slot) => {
      if (slot.restartTimer) clearTimeout(slot.restartTimer);
      const child = slot.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
      const exited = new Promise<boolean>((resolve) => child.once('exit', (code) => resolve(code === 0)));
      child.kill('SIGTERM');
      return exited;
    });
    return (await Promise.all(exits)).every(Boolean);
  }

  /** SIGKILL to every worker still running: the supervisor's own deadline passed. */
  kill(): void {
    for (const slot of this.slots) slot.child?.kill('SIGKILL');
  }

  private launch(slot: WorkerSlot): Promise<WorkerReady> {
    const { entry, execArgv, env } = this.options;
    const child = fork(entry, ['--worker-index', String(slot.index)], { execArgv, env, stdio: 'inherit' });
    slot.child = child;
    slot.startedAt = Date.now();
    return new Promise<WorkerReady>((resolve, reject) => {
      let served = false;
      child.on('message', (message) => {
        if (!isWorkerReady(message) || served) return;
        served = true;
        slot.everServed = true;
        resolve(message);
      });
      child.once('exit', (code, signal) => {
        if (!served) reject(new WorkerStartError(slot.index, child.pid, code, signal));
        this.exited(slot, child, code, signal);
      });
    });
  }

  private exited(slot: WorkerSlot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const { logger } = this.options;
    const facts = { worker: slot.index, pid: child.pid, code, signal };
    if (this.stopping) {
      logger[code === 0 ? 'info' : 'error'](facts, 'worker stopped');
      return;
    }
    // The first worker of a slot failing its start fails the whole start (start() reports it): nothing is restarted.
    if (!slot.everServed) return;
    slot.crashesInARow = Date.now() - slot.startedAt >= HEALTHY_AFTER_MS ? 1 : slot.crashesInARow + 1;
    const delayMs = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** (slot.crashesInARow - 1));
    logger.error({ ...facts, restartInMs: delayMs }, 'worker exited; restarting it');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      this.launch(slot).then(
        () => logger.info({ worker: slot.index, pid: slot.child?.pid }, 'worker restarted'),
        // Its exit was logged, and it is tried again after a longer wait.
        () => undefined,
      );
    }, delayMs);
  }
}
