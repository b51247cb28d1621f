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

/** Change of each named metric's sum between two scrapes. */
export function metricDeltas(before: Map<string, number>, after: Map<string, number>, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [name, sumMetric(after, name) - sumMetric(before, name)]));
}
