/**
 * A log-bucketed latency histogram: constant memory however long a run
 * lasts (a 10,000-driver fleet records millions of acks), with every
 * percentile within about 1% of the exact value.
 */
export class LatencyHistogram {
  /** Values at or below this share the first bucket; finer than any wire latency. */
  static readonly MIN_MS = 0.01;
  /** Bucket growth factor: each bucket is 2% wider than the last. */
  static readonly GROWTH = 1.02;
  private static readonly BUCKETS = 1024;
  private static readonly LOG_GROWTH = Math.log(LatencyHistogram.GROWTH);

  private readonly counts = new Uint32Array(LatencyHistogram.BUCKETS);
  private total = 0;
  private sum = 0;
  private minSeen = Infinity;
  private maxSeen = -Infinity;

  get count(): number {
    return this.total;
  }

  get max(): number | null {
    return this.total === 0 ? null : this.maxSeen;
  }

  get mean(): number | null {
    return this.total === 0 ? null : this.sum / this.total;
  }

  record(valueMs: number): void {
    if (!Number.isFinite(valueMs) || valueMs < 0) return;
    this.counts[LatencyHistogram.bucketOf(valueMs)]! += 1;
    this.total += 1;
    this.sum += valueMs;
    if (valueMs < this.minSeen) this.minSeen = valueMs;
    if (valueMs > this.maxSeen) this.maxSeen = valueMs;
  }

  /**
   * Nearest-rank percentile (`p` in 0..100): the smallest recorded value that
   * at least p% of samples do not exceed, reported as its bucket's geometric
   * centre and clamped to the observed range. Null when nothing was recorded.
   */
  percentile(p: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.total));
    let seen = 0;
    for (let bucket = 0; bucket < this.counts.length; bucket++) {
      seen += this.counts[bucket]!;
      if (seen >= rank) {
        const centre = LatencyHistogram.MIN_MS * LatencyHistogram.GROWTH ** (bucket - 0.5);
        return Math.min(this.maxSeen, Math.max(this.minSeen, centre));
      }
    }
    return this.maxSeen;
  }

  /** Bucket b holds (MIN·G^(b-1), MIN·G^b]; anything past the last bucket lands in it. */
  private static bucketOf(valueMs: number): number {
    if (valueMs <= LatencyHistogram.MIN_MS) return 0;
    const bucket = Math.ceil(Math.log(valueMs / LatencyHistogram.MIN_MS) / LatencyHistogram.LOG_GROWTH);
    return Math.min(LatencyHistogram.BUCKETS - 1, bucket);
  }
}
