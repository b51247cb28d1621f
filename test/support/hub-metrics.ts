/** Every sample of one scrape of a hub's Prometheus endpoint, by series (name with its labels as the hub prints them). */
export type MetricSamples = (series: string) => number;

/**
 * One scrape of a hub's /metrics. A series with no sample yet reads 0. A hub
 * too busy to answer within `timeoutMs` fails the scrape rather than hold
 * the test past its own deadline.
 */
export async function scrapeMetrics(hub: { httpUrl(path: string): string }, timeoutMs = 10_000): Promise<MetricSamples> {
  const response = await fetch(hub.httpUrl('/metrics'), { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  const values = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return (series) => values.get(series) ?? 0;
}

/** One series' value, e.g. `hub_store_errors_total{op="write_batch"}`; 0 while it has no sample. */
export async function metricValue(hub: { httpUrl(path: string): string }, series: string): Promise<number> {
  return (await scrapeMetrics(hub))(series);
}
