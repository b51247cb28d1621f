/** One series of prom-client's metric format, as `Registry.metrics()` renders it. */
interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName: string;
}

/**
 * A Prometheus histogram over fixed upper bounds that records a sample with
 * one binary search and one typed-array increment, and never resets. It is
 * for paths that observe per frame or per millisecond, where prom-client's
 * observe() (label lookup, object per series) would cost more than the work
 * it measures. It renders itself through prom-client's registry.
 */
export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Samples per bucket, not cumulative; the last slot is +Inf. */
  private readonly counts: Float64Array;
  private total = 0;
  private sum = 0;

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending, in the unit the samples are in. */
    private readonly bounds: readonly number[],
  ) {
    for (let i = 1; i < bounds.length; i++) if (!(bounds[i]! > bounds[i - 1]!)) throw new RangeError(`${name}: bounds must ascend`);
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    this.observeMany(value, 1);
  }

  /** `count` samples of the same value: one frame latency shared by a whole batch, say. */
  observeMany(value: number, count: number): void {
    const bounds = this.bounds;
    let low = 0;
    let high = bounds.length;
    // The first bound >= value; bounds.length (the +Inf slot) when none is.
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (bounds[middle]! < value) low = middle + 1;
      else high = middle;
    }
    this.counts[low]! += count;
    this.total += count;
    this.sum += value * count;
  }

  get count(): number {
    return this.total;
  }

  /** The largest bound with a sample at or below it, i.e. what the slowest sample is known to be under; Infinity past the last bound. */
  get maxBound(): number {
    for (let i = this.counts.length - 1; i >= 0; i--) if (this.counts[i]! > 0) return i < this.bounds.length ? this.bounds[i]! : Number.POSITIVE_INFINITY;
    return 0;
  }

  /** What prom-client's registry calls to render the metric. */
  get(): { name: string; help: string; type: string; aggregator: string; values: MetricValue[] } {
    const values: MetricValue[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      values.push({ value: cumulative, labels: { le: this.bounds[i]! }, metricName: `${this.name}_bucket` });
    }
    values.push({ value: this.total, labels: { le: '+Inf' }, metricName: `${this.name}_bucket` });
    values.push({ value: this.sum, labels: {}, metricName: `${this.name}_sum` });
    values.push({ value: this.total, labels: {}, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
