import { LatencyHistogram, type HistogramData } from '../../clients/lib/latency-histogram.ts';

export interface ChartSeries {
  label: string;
  histogram: HistogramData;
}

const WIDTH = 880;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 300, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
/** Percentiles drawn per series; the x axis stretches the tail, where the differences are. */
const PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 98, 99, 99.5, 99.9];
const X_TICKS: Array<[number, string]> = [
  [0, 'p0'],
  [50, 'p50'],
  [90, 'p90'],
  [99, 'p99'],
  [99.9, 'p99.9'],
];

const tailX = (p: number) => -Math.log10(1 - p / 100);
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The latency distributions of a run as one SVG: latency (log scale) at each
 * percentile, with the tail stretched so p99 and p99.9 are readable.
 */
export function latencyChartSvg(title: string, series: ChartSeries[]): string {
  const drawn = series
    .map((entry) => ({ label: entry.label, histogram: LatencyHistogram.from(entry.histogram) }))
    .filter((entry) => entry.histogram.count > 0)
    .map((entry) => ({ label: entry.label, points: PERCENTILES.map((p) => [p, entry.histogram.percentile(p)!] as const) }));
  const values = drawn.flatMap((entry) => entry.points.map(([, value]) => value));
  const yMin = Math.floor(Math.log10(Math.max(0.01, Math.min(...values, 1))));
  const yMax = Math.ceil(Math.log10(Math.max(...values, 1)));
  const xMax = tailX(99.9);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (p: number) => MARGIN.left + (tailX(p) / xMax) * plotW;
  const y = (ms: number) => MARGIN.top + plotH - ((Math.log10(Math.max(ms, 10 ** yMin)) - yMin) / Math.max(1, yMax - yMin)) * plotH;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  for (let power = yMin; power <= yMax; power++) {
    const value = 10 ** power;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(value)}" y2="${y(value)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${y(value) + 4}" text-anchor="end">${value >= 1 ? value : value.toFixed(Math.abs(power))} ms</text>`,
    );
  }
  for (const [p, label] of X_TICKS) {
    parts.push(
      `<line x1="${x(p)}" x2="${x(p)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#ddd"/>`,
      `<text x="${x(p)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${label}</text>`,
    );
  }
  parts.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">percentile (tail stretched)</text>`,
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  drawn.forEach((entry, index) => {
    const color = COLORS[index % COLORS.length]!;
    const path = entry.points.map(([p, value]) => `${x(p).toFixed(1)},${y(value).toFixed(1)}`).join(' ');
    const p99 = entry.points.find(([p]) => p === 99)![1];
    const legendY = MARGIN.top + 8 + index * 34;
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`,
      `<line x1="${WIDTH - MARGIN.right + 16}" x2="${WIDTH - MARGIN.right + 40}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="3"/>`,
      `<text x="${WIDTH - MARGIN.right + 46}" y="${legendY + 4}">${escape(entry.label)}</text>`,
      `<text x="${WIDTH - MARGIN.right + 46}" y="${legendY + 18}" fill="#555">p99 ${p99 < 10 ? p99.toFixed(2) : p99.toFixed(1)} ms</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
