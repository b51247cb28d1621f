import type { HistogramData, LatencySummary } from '../../clients/lib/latency-histogram.ts';
import type { MachineUsage } from '../observe/observe.ts';
import type { BenchPlan } from '../plan.ts';
import type { PostgresCeilings } from '../ceilings/postgres-ceiling.ts';
import type { ProfileSummary } from '../cpu-profile.ts';
import type { RedisCeilings } from '../ceilings/redis-ceiling.ts';
import type { ScaleOutResult } from './scale-out-result.ts';

/** One measured load: what was offered, what came back, and what the machine did meanwhile. */
export interface LoadPhase {
  label: string;
  /** Who answered: the hub, the SQL-fallback hub, or the original design's per-request path. */
  target: string;
  offered: string;
  sent: number;
  completed: number;
  /** Completions per second over the measured window. */
  perS: number;
  latencyMs: LatencySummary;
  histogram: HistogramData;
  errors: Record<string, number>;
  counts: Record<string, number>;
  usage?: MachineUsage;
}

export interface IdleMemory {
  connections: number;
  connected: number;
  baselineRssBytes: number;
  loadedRssBytes: number;
  /** RSS growth per connection, both readings after a full GC. */
  bytesPerConnection: number;
  /** The part of it on the V8 heap: JavaScript objects; the rest is uWS and the kernel's socket bookkeeping in the process. */
  heapBytesPerConnection: number;
  connectP99Ms: number | null;
}

export interface TargetRow {
  what: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchResult {
  version: 1;
  plan: BenchPlan;
  startedAt: string;
  finishedAt: string;
  durationS: number;
  machine: Record<string, string | number>;
  hubEnv: Record<string, string>;
  idle: IdleMemory;
  storeCeilings: { redis: RedisCeilings; postgres: PostgresCeilings };
  phases: Record<string, LoadPhase>;
  restSweep: Array<{ concurrency: number; perS: number; p99Ms: number | null; errors: number }>;
  explain: Record<string, string>;
  profile?: ProfileSummary;
  /** Hub processes × Redis layouts (bench/phases/scale-out.ts). */
  scaleOut?: ScaleOutResult;
  targets: TargetRow[];
}
