/**
 * `npm run bench`: the end-to-end benchmark. Starts the hub in production
 * mode on PostgreSQL + Redis (its own database and key prefix), seeds the
 * fleet, drives load from separate generator processes, measures the stores'
 * own ceilings and the original design's per-request paths in the same run,
 * and writes bench/results/<date>.json, .md and .svg (not committed).
 *
 *   npm run bench                      full run, a few minutes
 *   npm run bench -- --quick           smoke run of a few seconds (CI); BENCH_SMOKE=1 does the same
 *   npm run bench -- --cpu-prof        also profile the hub (V8 --cpu-prof) and summarise it in the report
 *   npm run bench -- --update-docs     also put the summary into docs/performance.md and the report into docs/benchmark/
 *
 * Flags: --postgres URL (a maintenance database on the server; default
 * postgres://postgres@127.0.0.1:5432/postgres), --redis URL (default
 * redis://127.0.0.1:6379), --out DIR (default bench/results), --keep-database.
 */
// First: on an unsupported Node this says which one to use.
import { parseCli } from '../src/public/cli.ts';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { latencyChartSvg } from './report/latency-chart.ts';
import { FULL_PLAN, QUICK_PLAN } from './plan.ts';
import { PHASE_ORDER, renderReport } from './report/report.ts';
import { runBenchmark } from './run-benchmark.ts';

const DOCS_FILE = 'docs/performance.md';
const DOCS_START = '<!-- bench:latest:start -->';
const DOCS_END = '<!-- bench:latest:end -->';
/** The report and chart that DOCS_FILE cites, without extension. */
const DOCS_REPORT = 'docs/benchmark/latest-run';

const USAGE = `usage: npm run bench -- [--quick] [--cpu-prof] [--update-docs] [--keep-database]
                       [--postgres URL] [--redis URL] [--out bench/results]

The end-to-end benchmark: the hub in production mode on PostgreSQL + Redis
(its own database and key prefix), a seeded fleet, load from separate
generator processes. Writes <out>/<date>.json, .md and .svg.

  --quick          a smoke run of a few seconds (CI); BENCH_SMOKE=1 does the same
  --cpu-prof       also profile the hub (V8 --cpu-prof) and summarise it in the report
  --update-docs    also put the summary into ${DOCS_FILE} and the report into docs/benchmark/
  --keep-database  leave the benchmark's database behind for a look afterwards
  --postgres URL   a maintenance database on the server (default postgres://postgres@127.0.0.1:5432/postgres)
  --redis URL      default redis://127.0.0.1:6379`;

const values = parseCli(USAGE, {
  quick: { type: 'boolean', default: process.env.BENCH_SMOKE === '1' },
  'cpu-prof': { type: 'boolean', default: false },
  'update-docs': { type: 'boolean', default: false },
  'keep-database': { type: 'boolean', default: false },
  postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
  out: { type: 'string', default: 'bench/results' },
});

const plan = values.quick ? QUICK_PLAN : FULL_PLAN;
const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
await mkdir(values.out, { recursive: true });
const profileDir = values['cpu-prof'] ? join(values.out, 'profiles') : undefined;
if (profileDir) await mkdir(profileDir, { recursive: true });

const startedAt = new Date();
const name = `${startedAt.toISOString().slice(0, 19).replace(/:/g, '').replace('T', '-')}${plan.name === 'quick' ? '-quick' : ''}`;
const result = await runBenchmark({
  plan,
  startedAt,
  adminUrl: values.postgres,
  redisUrl: values.redis,
  cpuProfileDir: profileDir,
  keepDatabase: values['keep-database'],
  logPrefix: join(values.out, name),
});

const chartFile = `${name}.svg`;
const series = PHASE_ORDER.filter(([key, label]) => label !== '' && result.phases[key]).map(([key, label]) => ({
  label,
  histogram: result.phases[key]!.histogram,
}));
const report = renderReport(result, chartFile, command);
await writeFile(join(values.out, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(join(values.out, chartFile), latencyChartSvg(`Latency distributions, ${result.startedAt.slice(0, 10)} (${plan.name} run)`, series));
await writeFile(join(values.out, `${name}.md`), report);

if (values['update-docs']) {
  const docs = await readFile(DOCS_FILE, 'utf8');
  const start = docs.indexOf(DOCS_START);
  const end = docs.indexOf(DOCS_END);
  if (start < 0 || end < start) throw new Error(`${DOCS_FILE} lacks the ${DOCS_START} … ${DOCS_END} markers`);
  // The cited report is the only one committed: bench/results/ is ignored.
  await writeFile(`${DOCS_REPORT}.md`, renderReport(result, `${basename(DOCS_REPORT)}.svg`, command));
  await copyFile(join(values.out, chartFile), `${DOCS_REPORT}.svg`);
  const reportPath = relative('docs', `${DOCS_REPORT}.md`);
  const chartPath = relative('docs', `${DOCS_REPORT}.svg`);
  const summary = report
    .slice(report.indexOf('## Summary') + '## Summary'.length, report.indexOf('## Every phase'))
    .replace(`](${chartFile})`, `](${chartPath})`);
  const section = `${DOCS_START}\nLatest full run: [${name}](${reportPath}), \`${command}\`, ${result.durationS} s.\n${summary.trimEnd()}\n${DOCS_END}`;
  await writeFile(DOCS_FILE, docs.slice(0, start) + section + docs.slice(end + DOCS_END.length));
}

const verdict = (met: boolean | null) => (met === null ? 'n/a   ' : met ? 'met   ' : 'MISSED');
process.stdout.write(
  `\n${[...result.targets, ...result.efficiencyTargets].map((row) => `${verdict(row.met)}  ${row.what}: ${row.measured} (target ${row.target})`).join('\n')}\n`,
);
process.stdout.write(`\nreport: ${join(values.out, `${name}.md`)}\ndata:   ${join(values.out, `${name}.json`)}\nchart:  ${join(values.out, chartFile)}\n`);
