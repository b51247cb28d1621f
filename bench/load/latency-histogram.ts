/**
 * A log-bucketed latency histogram that can cross a process boundary:
 * load generators record into one each, send `toJSON()` to the
 * orchestrator, which merges them. Buckets grow by 2%, so every percentile
 * is within about 1% of the exact value at constant memory.
 */
const MIN_MS = 0.01;
const GROWTH = 1.02;
const BUCKETS = 1100;
const LOG_GROWTH = Math.log(GROWTH);

export interface HistogramData {
  /** Sparse [bucket, count] pairs. */
  buckets: Array<[number, number]>;
  count: number;
  sum: number;
  max: number;
}

export interface LatencySummary {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

function bucketOf(valueMs: number): number {
  if (valueMs <= MIN_MS) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(valueMs / MIN_MS) / LOG_GROWTH));
}

/** The upper edge of a bucket, in ms: what a percentile reports (never optimistic). */
export function bucketUpperMs(bucket: number): number {
  return MIN_MS * GROWTH ** bucket;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private maxSeen = 0;

  get count(): number {
    return this.total;
  }

  record(valueMs: number): void {
    if (!(valueMs >= 0) || !Number.isFinite(valueMs)) return;
    this.counts[bucketOf(valueMs)]! += 1;
    this.total += 1;
    this.sum += valueMs;
    if (valueMs > this.maxSeen) this.maxSeen = valueMs;
  }

  merge(data: HistogramData): void {
    for (const [bucket, count] of data.buckets) this.counts[bucket]! += count;
    this.total += data.count;
    this.sum += data.sum;
    this.maxSeen = Math.max(this.maxSeen, data.max);
  }

  /** Nearest-rank percentile (p in 0..100), as the upper edge of its bucket clamped to the maximum seen. */
  percentile(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.min(this.maxSeen, bucketUpperMs(bucket));
    }
    return this.maxSeen;
  }

  summary(): LatencySummary {
    const round = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);
    return {
      count: this.total,
      p50: round(this.percentile(50)),
      p95: round(this.percentile(95)),
      p99: round(this.percentile(99)),
      max: round(this.total === 0 ? null : this.maxSeen),
      mean: round(this.total === 0 ? null : this.sum / this.total),
    };
  }

  toJSON(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let bucket = 0; bucket < BUCKETS; bucket++) if (this.counts[bucket]! > 0) buckets.push([bucket, this.counts[bucket]!]);
    return { buckets, count: this.total, sum: this.sum, max: this.maxSeen };
  }

  static from(data: HistogramData): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.merge(data);
    return histogram;
  }
}
