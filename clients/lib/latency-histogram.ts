/**
 * The one latency histogram of the simulator, the test clients and the
 * benchmark: log-bucketed, so memory is constant however long a run lasts
 * (a 10,000-driver fleet records millions of acks), and mergeable across
 * processes through toJSON() / merge().
 *
 * The one percentile rule: nearest rank, reported as the upper edge of the
 * rank's bucket (never optimistic), clamped to the smallest and largest
 * values recorded. Buckets grow by 1%, so a percentile is at most 1% above
 * the exact value.
 */
const MIN_MS = 0.01;
const GROWTH = 1.01;
/** Up to MIN_MS · GROWTH^BUCKETS ≈ 12 minutes; anything slower lands in the last bucket. */
const BUCKETS = 2200;
const LOG_GROWTH = Math.log(GROWTH);

export interface HistogramData {
  /** Sparse [bucket, count] pairs. */
  buckets: Array<[number, number]>;
  count: number;
  sum: number;
  min: number;
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

/** Bucket b holds (MIN·G^(b-1), MIN·G^b]. */
function bucketOf(valueMs: number): number {
  if (valueMs <= MIN_MS) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(valueMs / MIN_MS) / LOG_GROWTH));
}

function bucketUpperMs(bucket: number): number {
  return MIN_MS * GROWTH ** bucket;
}

const round = (value: number | null) => (value === null ? null : Math.round(value * 1000) / 1000);

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private sum = 0;
  private minSeen = Infinity;
  private maxSeen = -Infinity;

  static from(data: HistogramData): LatencyHistogram {
    const histogram = new LatencyHistogram();
    histogram.merge(data);
    return histogram;
  }

  get count(): number {
    return this.total;
  }

  get max(): number | null {
    return this.total === 0 ? null : this.maxSeen;
  }

  get mean(): number | null {
    return this.total === 0 ? null : this.sum / this.total;
  }

  /** Ignores anything that is not a latency: NaN, infinities, negative values. */
  record(valueMs: number): void {
    if (!(valueMs >= 0) || !Number.isFinite(valueMs)) return;
    this.counts[bucketOf(valueMs)]! += 1;
    this.total += 1;
    this.sum += valueMs;
    if (valueMs < this.minSeen) this.minSeen = valueMs;
    if (valueMs > this.maxSeen) this.maxSeen = valueMs;
  }

  merge(data: HistogramData): void {
    if (data.count === 0) return;
    for (const [bucket, count] of data.buckets) this.counts[bucket]! += count;
    this.total += data.count;
    this.sum += data.sum;
    this.minSeen = Math.min(this.minSeen, data.min);
    this.maxSeen = Math.max(this.maxSeen, data.max);
  }

  /** The percentile `p` (0..100) by the rule above; null when nothing was recorded. */
  percentile(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) return Math.min(this.maxSeen, Math.max(this.minSeen, bucketUpperMs(bucket)));
    }
    return this.maxSeen;
  }

  /** The figures every report shows, rounded to the microsecond. */
  summary(): LatencySummary {
    return {
      count: this.total,
      p50: round(this.percentile(50)),
      p95: round(this.percentile(95)),
      p99: round(this.percentile(99)),
      max: round(this.max),
      mean: round(this.mean),
    };
  }

  toJSON(): HistogramData {
    const buckets: Array<[number, number]> = [];
    for (let bucket = 0; bucket < BUCKETS; bucket++) if (this.counts[bucket]! > 0) buckets.push([bucket, this.counts[bucket]!]);
    return { buckets, count: this.total, sum: this.sum, min: this.total === 0 ? 0 : this.minSeen, max: this.total === 0 ? 0 : this.maxSeen };
  }
}
