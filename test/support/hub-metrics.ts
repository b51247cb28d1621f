/**
 * One series' value from a hub's Prometheus endpoint, 0 while it has no
 * sample yet. `series` is the name with its labels as the hub prints them,
 * e.g. `hub_store_errors_total{op="write_batch"}`.
 */
export async function metricValue(hub: { httpUrl(path: string): string }, series: string): Promise<number> {
  const response = await fetch(hub.httpUrl('/metrics'));
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  for (const line of (await response.text()).split('\n')) if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  return 0;
}
