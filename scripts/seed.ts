import { loadConfig } from '../src/config.ts';
import type { NewDriver } from '../src/domain/driver.ts';
import { generateFleet, TIMES_SQUARE } from '../src/seed/fleet.ts';
import { openStore } from '../src/store/open-store.ts';
import { cliArgs, positiveInt } from './cli-args.ts';

/**
 * `npm run db:seed -- --drivers N [--seed S] [--radius-km R] [--online 0.7]`: a deterministic
 * fleet around Times Square, inserted in set-based chunks with a progress line.
 */
const args = cliArgs({ drivers: '10000', seed: '42', 'radius-km': '15', online: '0.7' });
const count = positiveInt('drivers', args.drivers);
const seed = positiveInt('seed', args.seed);
const radiusKm = Number(args['radius-km']);
const onlineShare = Number(args.online);
if (!(radiusKm > 0) || !(onlineShare >= 0 && onlineShare <= 1)) {
  process.stderr.write('--radius-km must be > 0 and --online within [0, 1]\n');
  process.exit(2);
}

const CHUNK = 10_000;
const config = loadConfig();
const store = await openStore(config);
try {
  await store.migrate();
  const started = Date.now();
  let chunk: NewDriver[] = [];
  let inserted = 0;
  const flush = async () => {
    await store.insertDrivers(chunk);
    inserted += chunk.length;
    chunk = [];
    process.stdout.write(`\rseeding drivers: ${inserted}/${count} (${Math.round((inserted / Math.max(1, count)) * 100)}%)`);
  };
  for (const driver of generateFleet({ count, seed, center: TIMES_SQUARE, radiusKm, onlineShare })) {
    chunk.push(driver);
    if (chunk.length === CHUNK) await flush();
  }
  if (chunk.length > 0) await flush();
  process.stdout.write(`\nseeded ${inserted} drivers in ${Date.now() - started} ms (seed ${seed}); ${await store.countDrivers()} drivers in total\n`);
} finally {
  await store.close();
}
