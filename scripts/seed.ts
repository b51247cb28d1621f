import '../src/launch/check-node.ts';
import { parseCli, UsageError } from '../src/launch/cli.ts';
import { runConfiguredJob } from '../src/launch/configured-job.ts';
import { TIMES_SQUARE } from '../src/seed/fleet.ts';

const USAGE = `usage: npm run db:seed -- [--drivers 10000] [--seed 42] [--radius-km 15] [--online 0.7] [--reset]

Makes the database (DATABASE_URL, or the embedded one in DATA_DIR) hold a
deterministic fleet around Times Square: the first N drivers of --seed.
Idempotent: a rerun with the same --seed writes nothing, a larger --drivers
adds only the missing drivers. A database holding other drivers is left
alone; --reset deletes every driver and its history first and starts over
from id 1.`;

const args = parseCli(USAGE, {
  drivers: { type: 'string', default: '10000' },
  seed: { type: 'string', default: '42' },
  'radius-km': { type: 'string', default: '15' },
  online: { type: 'string', default: '0.7' },
  reset: { type: 'boolean', default: false },
});

function wholeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 0) throw new UsageError(`--${flag} must be a whole number ≥ 0, got "${text}"`);
  return value;
}

await runConfiguredJob(USAGE, 'stopping after the chunk being written (a rerun completes the fleet)', async (config, stop) => {
  const count = wholeNumber('drivers', args.drivers);
  const seed = wholeNumber('seed', args.seed);
  const radiusKm = Number(args['radius-km']);
  const onlineShare = Number(args.online);
  if (!(radiusKm > 0)) throw new UsageError(`--radius-km must be > 0, got "${args['radius-km']}"`);
  if (!(onlineShare >= 0 && onlineShare <= 1)) throw new UsageError(`--online must be within [0, 1], got "${args.online}"`);

  // Loaded only now, so --help answers without loading the database drivers.
  const [{ openStore }, { seedFleet }] = await Promise.all([import('../src/store/open-store.ts'), import('../src/seed/seed-fleet.ts')]);
  const store = await openStore(config);
  try {
    await store.migrate();
    const started = Date.now();
    const tty = process.stdout.isTTY;
    const outcome = await seedFleet(store, {
      count,
      seed,
      center: TIMES_SQUARE,
      radiusKm,
      onlineShare,
      reset: args.reset,
      stopRequested: () => stop.requested,
      // Redrawn in place on a terminal; a line per chunk in a log.
      onProgress: (inserted, toInsert) =>
        process.stdout.write(
          `${tty ? '\r' : ''}seeding drivers: ${inserted}/${toInsert} (${Math.round((inserted / Math.max(1, toInsert)) * 100)}%)${tty ? '' : '\n'}`,
        ),
    });
    if (tty && (outcome.kind === 'seeded' || outcome.kind === 'interrupted')) process.stdout.write('\n');
    switch (outcome.kind) {
      case 'seeded':
        process.stdout.write(
          `seeded ${outcome.inserted} drivers of seed ${seed} in ${Date.now() - started} ms` +
            `${outcome.kept > 0 ? ` (the first ${outcome.kept} were there already)` : ''}; ${outcome.total} drivers in total\n`,
        );
        return 0;
      case 'interrupted':
        process.stderr.write(
          `stopped after ${outcome.inserted} drivers of seed ${seed}; ${outcome.total} drivers in total: run the same command again to complete the fleet\n`,
        );
        return 1;
      case 'unchanged':
        process.stdout.write(
          `the database already holds the first ${count} drivers of seed ${seed} (${outcome.total} drivers in total): nothing to do; --reset starts over\n`,
        );
        return 0;
      case 'foreign':
        process.stderr.write(
          `the database holds ${outcome.total} drivers that are not seed ${seed}'s fleet (driver ${outcome.firstDifferentId} differs): nothing written; ` +
            `pass the --seed they came from, or --reset to replace them (deletes every driver and its history)\n`,
        );
        return 1;
    }
  } finally {
    await store.close();
  }
});
