import type { LatencySummary } from '../../clients/lib/latency-histogram.ts';
import type { ScaleOutUsage } from '../scale-out/usage-window.ts';

/** The load of each scale-out layout. */
export interface ScaleOutSizes {
  ridersPerGenerator: number;
  queriesInFlightPerGenerator: number;
  drivers: number;
  frameWindow: number;
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

export interface ScaleOutRow {
  label: string;
  workers: number;
  redis: 'single' | 'cluster';
  redisNodes: number;
  nearby: ScaleOutMeasure;
  ingest: ScaleOutMeasure;
}

export interface ScaleOutResult {
  sizes: ScaleOutSizes;
  rows: ScaleOutRow[];
}
