/**
 * The scale-out phase of `npm run bench` on its own: 1 vs 2 hub processes
 * on one Redis vs a 3-master Redis Cluster, with each process's CPU per
 * operation. For the figures docs/scaling.md builds on, without the
 * minutes of the full run's other phases (and their failures on a machine
 * other work is loading).
 *
 *   node --import tsx bench/scale-out-main.ts            full sizes
 *   node --import tsx bench/scale-out-main.ts --quick    seconds
 */
// First: on an unsupported Node this says which one to use.
import { parseCli } from '../src/public/cli.ts';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { TIMES_SQUARE } from '../src/public/fleet.ts';
import { createBenchDatabase, seedDrivers } from './bench-database.ts';
import { WorkerPool } from './load/worker-pool.ts';
import { measureScaleOut } from './phases/scale-out.ts';
import { FULL_PLAN, QUICK_PLAN } from './plan.ts';
import { Progress } from './progress.ts';
import { scaleOutSection } from './report/scale-out-section.ts';

const SEED_ONLINE = 42;

const USAGE = `usage: node --import tsx bench/scale-out-main.ts [--quick] [--postgres URL] [--out bench/results]

The scale-out phase of npm run bench alone, on a database of its own:
nearby and ingest ceilings for 1 vs 2 hub processes (HUB_WORKERS) on a
private redis-server vs a private 3-master Redis Cluster, with each
process's CPU. Writes <out>/<date>-scale-out.json and .md.

  --quick          a smoke run of seconds
  --postgres URL   a maintenance database on the server (default postgres://postgres@127.0.0.1:5432/postgres)`;

const values = parseCli(USAGE, {
  quick: { type: 'boolean', default: false },
  postgres: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
  out: { type: 'string', default: 'bench/results' },
});

const plan = values.quick ? QUICK_PLAN : FULL_PLAN;
const command = `node --import tsx bench/scale-out-main.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '');
const progress = new Progress(2);
progress.phase(1, `setup: database, ${plan.onlineDrivers.toLocaleString('en-US')} online drivers, load generators`);
const database = await createBenchDatabase(values.postgres, `scale_${stamp}`);
let pool: WorkerPool | undefined;
try {
  const online = await seedDrivers(database, { count: plan.onlineDrivers, seed: SEED_ONLINE, onlineShare: 1, radiusKm: plan.fleetRadiusKm });
  pool = await WorkerPool.start(plan.workers);
  progress.phase(2, 'scale-out layouts');
  const result = await measureScaleOut({
    plan,
    database,
    prefix: `bench:${stamp}:`,
    token: { secret: randomBytes(32).toString('hex') },
    pool,
    online,
    center: { lat: TIMES_SQUARE.lat, lng: TIMES_SQUARE.lng, spreadKm: plan.query.spreadKm },
    progress,
  });
  progress.endLine();
  const name = `${startedAt.toISOString().slice(0, 19).replace(/:/g, '').replace('T', '-')}-scale-out${plan.name === 'quick' ? '-quick' : ''}`;
  const report = [
    `# Scale-out report: ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC (${plan.name} sizes)`,
    '',
    `Command: \`${command}\` · took ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s · machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, ${Math.round(totalmem() / 2 ** 30)} GB, Linux ${release()}, Node ${process.version}. ${plan.onlineDrivers.toLocaleString('en-US')} online drivers seeded within ${plan.fleetRadiusKm} km of Times Square; ${plan.workers} load-generator processes on the same machine.`,
    '',
    ...scaleOutSection(result),
  ].join('\n');
  await mkdir(values.out, { recursive: true });
  await writeFile(join(values.out, `${name}.json`), `${JSON.stringify({ startedAt: startedAt.toISOString(), plan, scaleOut: result }, null, 2)}\n`);
  await writeFile(join(values.out, `${name}.md`), report);
  process.stdout.write(`\nreport: ${join(values.out, `${name}.md`)}\ndata:   ${join(values.out, `${name}.json`)}\n`);
} finally {
  await pool?.close();
  await database.drop();
}
