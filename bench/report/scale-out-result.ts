import type { LatencySummary } from '../../clients/lib/latency-histogram.ts';
import type { ScaleOutUsage } from '../scale-out/usage-window.ts';

/** The load of each scale-out layout. */
export interface ScaleOutSizes {
  ridersPerGenerator: number;
  queriesInFlightPerGenerator: number;
  drivers: number;
  frameWindow: number;
  /** Live nearby on the first layout (one process: subscriptions cross processes only with the bus): subscriptions held... */
  subscriptions: number;
  /** ...while the drivers stream this many frames a second each. */
  subscriptionDriverHz: number;
  warmupMs: number;
  measureMs: number;
}

/** One ceiling of one layout: answers or acks per second, their latency, and who used the CPU. */
export interface ScaleOutMeasure {
  perS: number;
  latencyMs: LatencySummary;
  errors: Record<string, number>;
  usage: ScaleOutUsage;
}

/** The hub's CPU for the same streaming fleet without and with the subscriptions, and the updates it pushed. */
export interface ScaleOutSubscriptions {
  subscribed: number;
  errors: Record<string, number>;
  framesPerS: number;
  hubCpuAlonePercent: number;
  hubCpuWithPercent: number;
  redisCpuAlonePercent: number;
  redisCpuWithPercent: number;
  updatesPerS: number;
  updateDelayMs: LatencySummary;
}

export interface ScaleOutRow {
  label: string;
  workers: number;
  redis: 'single' | 'cluster';
  redisNodes: number;
  nearby: ScaleOutMeasure;
  ingest: ScaleOutMeasure;
  subscriptions?: ScaleOutSubscriptions;
}

export interface ScaleOutResult {
  sizes: ScaleOutSizes;
  rows: ScaleOutRow[];
}
