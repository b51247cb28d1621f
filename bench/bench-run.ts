import type { ChildProcess } from 'node:child_process';
import { TIMES_SQUARE } from '../src/public/fleet.ts';
import type { HubProcess } from '../tools/testkit/hub-process.ts';
import type { BenchDatabase } from './bench-database.ts';
import { WORKER_MAX_SOCKETS, type LoadTask, type TokenSpec } from './load/load-protocol.ts';
import { split, type LiveTotals, type MergedResult, type WorkerPool } from './load/worker-pool.ts';
import { observeWindow, type MachineUsage } from './observe/observe.ts';
import type { BenchPlan } from './plan.ts';
import type { Progress } from './progress.ts';
import type { BenchResult, IdleMemory, LoadPhase } from './report/results.ts';

/**
 * Seeded positions never move by themselves: keep them fresh. The reconcile
 * runs at its default interval: it is incremental and part of what is measured.
 */
export const BENCH_STALE_AFTER_MS = 3_600_000;

/** Everything a phase works with, set up once per run, and the results the phases fill in. */
export interface BenchSetup {
  plan: BenchPlan;
  progress: Progress;
  database: BenchDatabase;
  redisUrl: string;
  /** The run's Redis key prefix. */
  prefix: string;
  /** Signs every connection's token: production mode requires authentication. */
  token: TokenSpec;
  /** Ids of the online drivers seeded first. */
  online: { firstId: number; lastId: number };
  /** The hub under test, in production mode. */
  hub: HubProcess;
  /** A second hub on the same database whose Redis is gone: every nearby query goes to the SQL fallback. */
  fallbackHub: HubProcess;
  /** The original design's read path, rebuilt (original-design-server.ts). */
  original: { child: ChildProcess; port: number };
  pool: WorkerPool;
}

export interface BenchFindings {
  phases: Record<string, LoadPhase>;
  explain: Record<string, string>;
  idle?: IdleMemory;
  storeCeilings?: BenchResult['storeCeilings'];
  restSweep: BenchResult['restSweep'];
  scaleOut?: BenchResult['scaleOut'];
}

/** One row of the run: what the progress line says, and the work. */
export interface BenchPhase {
  title(plan: BenchPlan): string;
  run(run: BenchRun): Promise<void>;
}

export function formatLive(totals: LiveTotals, unit: string): string {
  const p99 = totals.p99Ms === null ? '-' : `${totals.p99Ms.toFixed(1)} ms`;
  return `sent ${totals.sent.toLocaleString('en-US')} · ${unit} ${totals.completed.toLocaleString('en-US')} · p99 so far ${p99}`;
}

export function toPhase(label: string, target: string, offered: string, result: MergedResult, usage?: MachineUsage): LoadPhase {
  return {
    label,
    target,
    offered,
    sent: result.sent,
    completed: result.completed,
    perS: result.measuredMs > 0 ? Math.round((result.completed / result.measuredMs) * 1000) : 0,
    latencyMs: result.latency.summary(),
    histogram: result.latency.toJSON(),
    errors: result.errors,
    counts: result.counts,
    usage,
    ...(result.offered > 0 && { generator: { offered: result.offered, onTime: result.onTime } }),
  };
}

/**
 * One benchmark run as the phases see it: the processes, the load steps
 * several phases share, and the findings they add to. The last generator
 * process asks the nearby queries; the others drive the fleet.
 */
export class BenchRun {
  readonly findings: BenchFindings = { phases: {}, explain: {}, restSweep: [] };
  readonly allWorkers: number[];
  readonly readerWorker: number;
  readonly driverWorkers: number[];
  /** Where the fleet's drivers stand. */
  readonly center: { lat: number; lng: number; spreadKm: number };
  private postgresPids: number[] = [];

  constructor(readonly setup: BenchSetup) {
    const { plan } = setup;
    this.allWorkers = Array.from({ length: plan.workers }, (_, index) => index);
    this.readerWorker = plan.workers - 1;
    this.driverWorkers = this.allWorkers.slice(0, -1);
    this.center = { lat: TIMES_SQUARE.lat, lng: TIMES_SQUARE.lng, spreadKm: plan.query.spreadKm };
  }

  get plan(): BenchPlan {
    return this.setup.plan;
  }

  get progress(): Progress {
    return this.setup.progress;
  }

  /** Runs `work` while watching CPU, memory, Redis and the hub's counters over its measured window. */
  async observe<T>(
    extra: Record<string, () => number[]>,
    warmupMs: number,
    measureMs: number,
    work: () => Promise<T>,
  ): Promise<{ value: T; usage: MachineUsage }> {
    const { database, hub, redisUrl, pool } = this.setup;
    const { rows } = await database.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 OR backend_type IN ('walwriter', 'checkpointer', 'background writer')`,
      [database.name],
    );
    this.postgresPids = rows.map((row) => row.pid);
    return observeWindow(
      { hub, redisUrl, processes: { hub: () => [hub.pid], postgres: () => this.postgresPids, generators: () => pool.pids, ...extra } },
      warmupMs,
      measureMs,
      work,
    );
  }

  /** The task `make(offset, share)` for each of `workers`, `count` sockets split between them, never more than one process may hold. */
  spread(count: number, workers: number[], make: (offset: number, share: number) => LoadTask): Array<LoadTask | undefined> {
    const tasks: Array<LoadTask | undefined> = this.allWorkers.map(() => undefined);
    let offset = 0;
    split(count, workers.length).forEach((share, index) => {
      if (share > WORKER_MAX_SOCKETS) throw new RangeError(`${share} sockets for one load generator: the cap is ${WORKER_MAX_SOCKETS}`);
      tasks[workers[index]!] = make(offset, share);
      offset += share;
    });
    return tasks;
  }

  /** The same task on the given workers only. */
  on(workers: number[], task: LoadTask): Array<LoadTask | undefined> {
    return this.allWorkers.map((index) => (workers.includes(index) ? task : undefined));
  }

  /** Connects `count` drivers over `workers`, at most `concurrency` connecting at once per worker (the plan's, by default). */
  async connectDrivers(firstId: number, count: number, workers: number[], concurrency = this.setup.plan.connectConcurrency): Promise<MergedResult> {
    const { hub, token, pool } = this.setup;
    const result = await pool.run(
      this.spread(count, workers, (offset, share) => ({
        kind: 'connect-drivers',
        hub: { host: '127.0.0.1', port: hub.port },
        firstId: firstId + offset,
        count: share,
        concurrency,
        token,
      })),
      (totals) => this.progress.update(`connecting drivers: ${totals.completed.toLocaleString('en-US')}/${count.toLocaleString('en-US')}`),
    );
    if (result.completed !== count) throw new Error(`only ${result.completed} of ${count} drivers connected: ${JSON.stringify(result.errors)}`);
    return result;
  }

  async disconnectDrivers(workers: number[]): Promise<void> {
    await this.setup.pool.run(this.on(workers, { kind: 'disconnect-drivers' }));
  }

  /** The reader worker's riders, connected afresh to `target`. */
  async connectRiders(target: HubProcess): Promise<void> {
    const { plan, token, pool } = this.setup;
    await pool.run(this.on([this.readerWorker], { kind: 'disconnect-riders' }));
    const result = await pool.run(
      this.on([this.readerWorker], { kind: 'connect-riders', hub: { host: '127.0.0.1', port: target.port }, count: plan.riders, token }),
    );
    if (result.completed !== plan.riders) throw new Error(`only ${result.completed} of ${plan.riders} riders connected: ${JSON.stringify(result.errors)}`);
  }

  /** Every connected driver streams at the plan's steady rate. */
  streamTask(warmupMs: number, measureMs: number): LoadTask {
    return { kind: 'stream-rate', perDriverHz: this.plan.driverHz, durationMs: warmupMs + measureMs, warmupMs, center: this.center };
  }

  /** Nearby queries at a fixed rate over the reader's riders, for one short window. */
  nearbyRate(seed: number, perSecond = this.plan.nearbyPerS): LoadTask {
    const warmupMs = Math.min(this.plan.warmupMs, 3000);
    return { kind: 'query-rate', perSecond, durationMs: warmupMs + this.plan.shortMeasureMs, warmupMs, shape: this.plan.query, seed };
  }

  /** The original design's read over HTTP: open loop at `perSecond` when given, else closed loop. */
  httpRead(perSecond: number | undefined, durationMs: number, warmupMs: number, concurrency: number): LoadTask {
    const { original, online, plan } = this.setup;
    return {
      kind: 'http',
      request: 'get-nearby',
      host: '127.0.0.1',
      port: original.port,
      concurrency,
      perSecond,
      durationMs,
      warmupMs,
      firstDriverId: online.firstId,
      driverCount: plan.onlineDrivers,
      shape: plan.query,
      seed: 5,
    };
  }

  get driversOffered(): string {
    return `${this.plan.onlineDrivers.toLocaleString('en-US')} drivers × ${this.plan.driverHz} frame/s`;
  }

  get nearbyOffered(): string {
    const { plan } = this;
    return `${plan.nearbyPerS.toLocaleString('en-US')} queries/s over ${plan.riders} sockets, radius ${plan.query.radiusKm} km, limit ${plan.query.limit}`;
  }

  get fallbackOffered(): string {
    const { plan } = this;
    return `${plan.fallbackPerS.toLocaleString('en-US')} queries/s over ${plan.riders} sockets, radius ${plan.query.radiusKm} km, limit ${plan.query.limit}`;
  }

  /** Drivers stream at their steady rate while one reader task runs on the reader worker; records both. */
  async readersWhileDriving(
    key: string,
    label: string,
    target: string,
    extra: Record<string, () => number[]>,
    reader: LoadTask,
    offered: string,
  ): Promise<void> {
    const warmupMs = Math.min(this.plan.warmupMs, 3000);
    const measureMs = this.plan.shortMeasureMs;
    const { pool } = this.setup;
    const { value, usage } = await this.observe(extra, warmupMs, measureMs, () =>
      Promise.all([
        pool.run(this.on(this.driverWorkers, this.streamTask(warmupMs, measureMs))),
        pool.run(this.on([this.readerWorker], reader), (totals) => this.progress.update(formatLive(totals, 'answered'))),
      ]),
    );
    this.findings.phases[key] = toPhase(label, target, offered, value[1], usage);
    this.findings.phases[`${key}.drivers`] = toPhase(`${label}: driver acks meanwhile`, 'hub', this.driversOffered, value[0]);
  }

  /** The fallback hub and the original-design server, as extra process groups to watch. */
  get fallbackProcess(): Record<string, () => number[]> {
    return { 'fallback hub': () => [this.setup.fallbackHub.pid] };
  }

  get originalProcess(): Record<string, () => number[]> {
    return { 'original-design server': () => [this.setup.original.child.pid!] };
  }
}
