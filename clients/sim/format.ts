import type { LatencySummary, StatsSnapshot, Summary } from './stats.ts';

function ms(value: number | null): string {
  if (value === null) return '–';
  return value < 10 ? value.toFixed(1) : value.toFixed(0);
}

function rate(value: number): string {
  return value < 100 ? value.toFixed(1) : value.toFixed(0);
}

/** One line, short enough for an 80-column terminal with a small fleet. */
export function formatStatusLine(s: StatsSnapshot): string {
  const parts = [
    `${s.elapsedS.toFixed(0).padStart(4)}s`,
    `drv ${s.connectedDrivers}/${s.drivers}${s.offlineDrivers > 0 ? ` (${s.offlineDrivers} off)` : ''}`,
    `loc ${rate(s.framesSentPerS)}/s ack ${rate(s.framesAckedPerS)}/s p50 ${ms(s.ackP50Ms)} p99 ${ms(s.ackP99Ms)}ms`,
  ];
  if (s.riders > 0) {
    parts.push(`nearby ${rate(s.nearbyPerS)}/s p50 ${ms(s.nearbyP50Ms)} p99 ${ms(s.nearbyP99Ms)}ms`);
  }
  if (s.ridesRequested + s.ridesAssigned > 0) parts.push(`rides ${s.ridesRequested} req ${s.ridesAssigned} asg ${s.ridesCompleted} done`);
  parts.push(`buf ${s.bufferedFrames}`, `err ${s.errors}`, `viol ${s.violations}`);
  return parts.join(' | ');
}

function latency(summary: LatencySummary): string {
  return `p50 ${ms(summary.p50)} ms · p99 ${ms(summary.p99)} ms · max ${ms(summary.max)} ms (${summary.count} samples)`;
}

function sources(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'no answers' : entries.map(([source, count]) => `${source} ${count}`).join(', ');
}

export function formatSummary(s: Summary): string {
  const f = s.frames;
  const lines = [
    `Simulation summary: ${s.durationS.toFixed(1)} s, ${s.drivers} drivers, ${s.riders} riders`,
    `  loc frames   sent ${f.sent} (resent ${f.resent}) · acked ${f.acked} · resumed ${f.resumed} · dropped ${f.dropped} · unacked ${f.unacked}`,
    `               ${rate(f.sentPerS)}/s sent · ${rate(f.ackedPerS)}/s acked · status frames ${f.statusSent}`,
    `  ack latency  ${latency(s.ackLatencyMs)}`,
  ];
  if (s.riders > 0) {
    lines.push(
      `  nearby       sent ${s.nearby.sent} · answered ${s.nearby.answered} (${sources(s.nearby.sources)}) · ${rate(s.nearby.perS)}/s · ${s.nearby.meanDrivers.toFixed(1)} drivers/answer`,
      `  nearby time  ${latency(s.nearby.latencyMs)}`,
    );
  }
  const c = s.connections;
  lines.push(`  connections  reconnects ${c.reconnects} · disconnects ${c.disconnects} · offline episodes ${c.offlineEpisodes}`);
  if (c.driversReplaced > 0) {
    lines.push(`               ${c.driversReplaced} drivers taken over by another client (4001) stopped, leaving the driver to it`);
  }
  const r = s.rides;
  if (r.offers.received + r.requested > 0) {
    lines.push(
      `  rides        requested ${r.requested} · assigned ${r.assigned} · unmatched ${r.unmatched} · driven ${r.driven} · completed ${r.completed} · cancelled ${r.cancelled}`,
      `  offers       received ${r.offers.received} · accepted ${r.offers.accepted} · declined ${r.offers.declined}`,
      `  assign time  ${latency(r.assignLatencyMs)}`,
    );
  }
  lines.push(`  errors       ${s.errorCount}`);
  for (const [code, count] of Object.entries(s.errors)) lines.push(`    ${code.padEnd(24)} ${count}`);
  const byKind = Object.entries(s.violations)
    .map(([kind, count]) => `${kind} ${count}`)
    .join(', ');
  lines.push(`  violations   ${s.violationCount} (${byKind})`);
  return lines.join('\n');
}
