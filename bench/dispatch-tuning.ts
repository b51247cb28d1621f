/**
 * `npm run bench:dispatch`: how the dispatch settings trade the rider's wait
 * against matches and drivers tied up, measured rather than argued. Each
 * candidate (wave size, offer timeout, waves) runs the same simulated city:
 * an embedded hub, simulated drivers that accept with a given probability
 * after a human pause, and riders that request rides and follow them to the
 * end. Time is compressed tenfold (offer timeouts, human pauses, boarding and
 * driving speed alike), so a minute of wall clock is ten minutes of city; the
 * report gives times back in city seconds.
 *
 *   npm run bench:dispatch                 full run, about six minutes
 *   npm run bench:dispatch -- --quick      a few seconds per candidate
 *   npm run bench:dispatch -- --update-docs  also writes docs/benchmark/dispatch-tuning.md
 */
// First: on an unsupported Node this says which one to use.
import { parseCli } from '../src/public/cli.ts';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MOVEMENT, runSimulation, type Summary } from '../clients/sim/index.ts';
import { HubProcess } from '../tools/testkit/hub-process.ts';

const USAGE = `usage: npm run bench:dispatch -- [--quick] [--update-docs]

Runs the same simulated city (embedded hub, simulated drivers and riders, time
compressed tenfold) under each candidate dispatch setting and prints, per
candidate and acceptance rate: rides matched, time from request to assignment,
and offers sent per request (drivers tied up).

  --quick        a few seconds per candidate (a smoke run)
  --update-docs  also write the table to ${'docs/benchmark/dispatch-tuning.md'}`;

/** Wall-clock milliseconds per city millisecond. */
const TIME_SCALE = 0.1;
const DOCS_FILE = 'docs/benchmark/dispatch-tuning.md';

interface Candidate {
  name: string;
  waveSize: number;
  offerTimeoutS: number;
  maxWaves: number;
}

const CANDIDATES: Candidate[] = [
  { name: 'Namma Yatri (5 × 25 s × 3)', waveSize: 5, offerTimeoutS: 25, maxWaves: 3 },
  { name: 'ours (3 × 15 s × 3)', waveSize: 3, offerTimeoutS: 15, maxWaves: 3 },
  { name: 'single offers (1 × 15 s × 5)', waveSize: 1, offerTimeoutS: 15, maxWaves: 5 },
];
const ACCEPT_PROBABILITIES = [0.3, 0.8];

interface City {
  drivers: number;
  riders: number;
  /** Mean city seconds between a rider's requests while it has no ride. */
  rideEveryS: number;
  measureS: number;
}

const FULL_CITY: City = { drivers: 60, riders: 45, rideEveryS: 60, measureS: 50 };
const QUICK_CITY: City = { drivers: 20, riders: 10, rideEveryS: 30, measureS: 6 };

interface Outcome {
  candidate: Candidate;
  acceptProbability: number;
  summary: Summary;
}

const values = parseCli(USAGE, {
  quick: { type: 'boolean', default: false },
  'update-docs': { type: 'boolean', default: false },
});
const city = values.quick ? QUICK_CITY : FULL_CITY;

const outcomes: Outcome[] = [];
for (const acceptProbability of ACCEPT_PROBABILITIES) {
  for (const candidate of CANDIDATES) {
    process.stdout.write(`${candidate.name}, drivers accept ${acceptProbability * 100}%: ${city.measureS} s…\n`);
    outcomes.push({ candidate, acceptProbability, summary: await runCity(candidate, acceptProbability) });
  }
}
const report = renderReport(outcomes);
process.stdout.write(`\n${report}`);
if (values['update-docs']) await writeFile(DOCS_FILE, report);

async function runCity(candidate: Candidate, acceptProbability: number): Promise<Summary> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dispatch-tuning-'));
  const hub = await HubProcess.start({
    label: 'dispatch-tuning hub',
    env: {
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      // The simulated drivers are exactly the seeded ones, and nothing else moves them.
      EMBEDDED_SEED_DRIVERS: String(city.drivers),
      EMBEDDED_SIMULATED_DRIVERS: '0',
      DISPATCH_WAVE_SIZE: String(candidate.waveSize),
      DISPATCH_OFFER_TIMEOUT_MS: String(Math.round(candidate.offerTimeoutS * 1000 * TIME_SCALE)),
      DISPATCH_MAX_WAVES: String(candidate.maxWaves),
    },
  });
  const scaled = (range: readonly [number, number]): [number, number] => [range[0] * TIME_SCALE, range[1] * TIME_SCALE];
  const cityKmh = (range: readonly [number, number]): [number, number] => [range[0] / TIME_SCALE, range[1] / TIME_SCALE];
  try {
    const simulation = runSimulation({
      hubUrl: hub.wsUrl(''),
      drivers: city.drivers,
      riders: city.riders,
      riderQueriesPerS: 0.2,
      intervalMs: 500,
      offline: null,
      drainMs: 500,
      seed: 'dispatch-tuning',
      // A 4 km square: pickups within a few km of most drivers, as in a busy district.
      grid: { halfWidthM: 2000, halfHeightM: 2000 },
      movement: {
        ...DEFAULT_MOVEMENT,
        avenueSpeedKmh: cityKmh(DEFAULT_MOVEMENT.avenueSpeedKmh),
        streetSpeedKmh: cityKmh(DEFAULT_MOVEMENT.streetSpeedKmh),
        redLightProbability: 0,
        stopProbability: 0,
      },
      driverRides: {
        acceptProbability,
        // People read an offer and tap in 1.5–6 s; boarding takes 5–15 s.
        answerDelayMs: scaled([1_500, 6_000]),
        boardingMs: scaled([5_000, 15_000]),
        tripWithoutDropoffM: [1_000, 3_000],
      },
      rideEveryS: city.rideEveryS * TIME_SCALE,
    });
    await new Promise((resolve) => setTimeout(resolve, city.measureS * 1000));
    return await simulation.stop();
  } finally {
    await hub.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

function renderReport(results: Outcome[]): string {
  const citySeconds = (wallMs: number | null) => (wallMs === null ? '–' : (wallMs / 1000 / TIME_SCALE).toFixed(1));
  const rows = results.map(({ candidate, acceptProbability, summary }) => {
    const { rides } = summary;
    const ended = rides.assigned + rides.unmatched;
    const matched = ended > 0 ? `${((rides.assigned / ended) * 100).toFixed(0)}% (${rides.assigned}/${ended})` : '–';
    const offersPerRequest = rides.requested > 0 ? (rides.offers.received / rides.requested).toFixed(2) : '–';
    return (
      `| ${candidate.name} | ${acceptProbability * 100}% | ${rides.requested} | ${matched} | ` +
      `${citySeconds(rides.assignLatencyMs.p50)} | ${citySeconds(rides.assignLatencyMs.p95)} | ${offersPerRequest} | ${rides.completed} |`
    );
  });
  return [
    '# Dispatch settings, measured',
    '',
    `Command: \`npm run bench:dispatch${values.quick ? ' -- --quick' : ''}\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`,
    `A simulated district: ${city.drivers} drivers and ${city.riders} riders on a 4 km street grid, each rider asking for a ride every ` +
      `${city.rideEveryS} s on average while it has none and following it to its end; drivers answer offers after 1.5–6 s. ` +
      `Time runs ten times faster than in a city (offer timeouts, pauses, boarding and driving speed alike); ` +
      `every time below is in city seconds, and each row is ${city.measureS / TIME_SCALE} city seconds of one run.`,
    '',
    '| Setting (wave size × offer timeout × waves) | Drivers accept | Requests | Matched | Request → assigned p50 s | p95 s | Offers sent per request | Rides completed |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    'Offers sent per request is the drivers a request ties up (one open offer per driver): the cost a wave pays for the speed it buys.',
    '',
  ].join('\n');
}
