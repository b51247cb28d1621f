/**
 * Reads the hub's Prometheus text exposition into series → value, keyed by
 * the series exactly as written (`hub_frames_refused_total{reason="overloaded"}`).
 */
export function parsePrometheus(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

/** The sum of every series of a metric, whatever its labels. */
export function sumMetric(series: Map<string, number>, name: string): number {
  let total = 0;
  for (const [key, value] of series) if (key === name || key.startsWith(`${name}{`)) total += value;
  return total;
}

/** Change of every series of the named metrics between two scrapes, by series (histogram buckets keep their labels). */
export function seriesDeltas(before: Map<string, number>, after: Map<string, number>, names: readonly string[]): Record<string, number> {
  const deltas: Record<string, number> = {};
  for (const [key, value] of after) {
    if (names.some((name) => key.startsWith(`${name}{`))) deltas[key] = value - (before.get(key) ?? 0);
  }
  return deltas;
}

/**
 * The q-quantile (0..1) of a Prometheus histogram's observations over a
 * window, from its bucket deltas (`<name>_bucket{...,le="x"}`) whose labels
 * include `labelMatch` (such as `waited="no"`): linear within the bucket that
 * holds it, as Prometheus's histogram_quantile does. Null without
 * observations; the highest finite bound when it falls in the +Inf bucket.
 */
export function histogramQuantile(deltas: Record<string, number>, bucketName: string, labelMatch: string, q: number): number | null {
  const buckets: Array<{ le: number; cumulative: number }> = [];
  for (const [key, count] of Object.entries(deltas)) {
    if (!key.startsWith(`${bucketName}{`) || !key.includes(labelMatch)) continue;
    const le = /le="([^"]+)"/.exec(key)?.[1];
    if (le !== undefined) buckets.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), cumulative: count });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.cumulative ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const bucket of buckets) {
    if (bucket.cumulative >= rank) {
      if (!Number.isFinite(bucket.le)) return lower;
      const inBucket = bucket.cumulative - below;
      return inBucket > 0 ? lower + ((bucket.le - lower) * (rank - below)) / inBucket : bucket.le;
    }
    lower = bucket.le;
    below = bucket.cumulative;
  }
  return lower;
}

/** Change of each named metric's sum between two scrapes. */
export function metricDeltas(before: Map<string, number>, after: Map<string, number>, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [name, sumMetric(after, name) - sumMetric(before, name)]));
}
