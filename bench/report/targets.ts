import { generatorOverloaded, type BenchResult, type LoadPhase, type TargetRow } from './results.ts';

const n = (value: number) => Math.round(value).toLocaleString('en-US');
const ms = (value: number | null) => (value === null ? 'n/a' : `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`);

function errorCount(phase: LoadPhase | undefined): number {
  return phase ? Object.values(phase.errors).reduce((sum, count) => sum + count, 0) : 0;
}

/** PostgreSQL's batched-write ceiling: the best of the plain statement over one and two connections. */
export function postgresCeiling(result: BenchResult): number {
  const { postgres } = result.storeCeilings;
  return Math.max(postgres.plainOneConnectionRowsPerS, postgres.plainTwoConnectionsRowsPerS);
}

/** A latency target over a phase whose generators fell behind cannot be judged: they measured their own backlog. */
function unlessGeneratorOverloaded(phase: LoadPhase | undefined, row: TargetRow): TargetRow {
  return generatorOverloaded(phase) ? { ...row, measured: `generator overloaded: ${row.measured}`, met: null } : row;
}

/** The targets, each judged against this run's numbers. */
export function evaluateTargets(result: BenchResult): TargetRow[] {
  const { phases, idle, plan } = result;
  const drivers = phases.drivers!;
  const ingest = phases.ingestCeiling!;
  const rest = phases.restPost!;
  const nearby = phases.nearbyRedis!;
  const nearbyCeiling = phases.nearbyCeiling!;
  const fallbackLarge = phases.fallbackLarge!;
  const pgCeiling = postgresCeiling(result);
  const expectedFrames = plan.onlineDrivers * plan.driverHz;
  return [
    unlessGeneratorOverloaded(drivers, {
      what: `Connected drivers, ${plan.driverHz} frame/s each`,
      target: '10,000, ack p99 ≤ 250 ms',
      measured: `${n(plan.onlineDrivers)} connected, ${n(drivers.perS)} acked/s, ack p99 ${ms(drivers.latencyMs.p99)}, ${errorCount(drivers)} errors`,
      met: plan.onlineDrivers >= 10_000 && (drivers.latencyMs.p99 ?? Infinity) <= 250 && drivers.perS >= expectedFrames * 0.97 && errorCount(drivers) === 0,
    }),
    {
      what: 'Ingest ceiling, acked frames/s',
      target: '≥ 50,000',
      measured: `${n(ingest.perS)}/s (ack p99 ${ms(ingest.latencyMs.p99)})`,
      met: ingest.perS >= 50_000,
    },
    {
      what: "Ingest ceiling vs PostgreSQL's own batched ceiling",
      target: '≥ 50%',
      measured: `${n(ingest.perS)} / ${n(pgCeiling)} rows/s = ${Math.round((ingest.perS / pgCeiling) * 100)}%`,
      met: ingest.perS >= pgCeiling / 2,
    },
    {
      what: 'Ingest ceiling vs per-request POST (same run)',
      target: '≥ 20×',
      measured: `${n(ingest.perS)} / ${n(rest.perS)} per s = ${(ingest.perS / Math.max(1, rest.perS)).toFixed(1)}× (POST best at ${rest.offered})`,
      met: ingest.perS >= rest.perS * 20,
    },
    unlessGeneratorOverloaded(nearby, {
      what: `Nearby at ${n(plan.nearbyPerS)} queries/s, ${n(plan.onlineDrivers)} drivers moving`,
      target: 'p99 ≤ 5 ms (WebSocket round trip)',
      measured: `p50 ${ms(nearby.latencyMs.p50)}, p99 ${ms(nearby.latencyMs.p99)}, ${errorCount(nearby)} errors`,
      met: (nearby.latencyMs.p99 ?? Infinity) <= 5 && plan.nearbyPerS >= 1000 && plan.onlineDrivers >= 10_000 && errorCount(nearby) === 0,
    }),
    {
      what: 'Nearby ceiling',
      target: '≥ 20,000 queries/s',
      measured: `${n(nearbyCeiling.perS)}/s (p99 ${ms(nearbyCeiling.latencyMs.p99)})`,
      met: nearbyCeiling.perS >= 20_000 && errorCount(nearbyCeiling) === 0,
    },
    unlessGeneratorOverloaded(fallbackLarge, {
      what: `SQL fallback nearby at ${n(plan.largeFleetDrivers)} drivers`,
      target: 'p99 ≤ 20 ms',
      measured: `p50 ${ms(fallbackLarge.latencyMs.p50)}, p99 ${ms(fallbackLarge.latencyMs.p99)} at ${n(fallbackLarge.perS)} queries/s`,
      met: plan.largeFleetDrivers >= 100_000 && (fallbackLarge.latencyMs.p99 ?? Infinity) <= 20 && errorCount(fallbackLarge) === 0,
    }),
    {
      what: `Hub memory at ${n(idle.connections)} idle connections`,
      target: '≤ 4 KB per connection beyond baseline, at 15,000',
      // RSS that falls while sockets are added means the allocator gave back more than the sockets took: no reading at all.
      measured:
        idle.bytesPerConnection < 0
          ? `inconclusive: RSS fell ${(idle.baselineRssBytes / 2 ** 20).toFixed(0)} → ${(idle.loadedRssBytes / 2 ** 20).toFixed(0)} MB while sockets were added; JS heap +${(idle.heapBytesPerConnection / 1024).toFixed(2)} KB per connection`
          : `${(idle.bytesPerConnection / 1024).toFixed(2)} KB per connection (RSS ${(idle.baselineRssBytes / 2 ** 20).toFixed(0)} → ${(idle.loadedRssBytes / 2 ** 20).toFixed(0)} MB)`,
      met: idle.connected >= 15_000 && idle.bytesPerConnection >= 0 && idle.bytesPerConnection <= 4096,
    },
  ];
}
