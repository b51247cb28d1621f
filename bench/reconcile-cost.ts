/**
 * What one reconcile pass costs at 10,000 drivers: the full repair over a
 * healthy index (the periodic pass before it became incremental, now the
 * audit), and the incremental pass with nothing changed, with every row
 * changed and newer than the index, and with every row changed but already
 * indexed (a streaming fleet: its frames indexed the same times). Reports
 * wall time, Redis's time in the scripts (INFO commandstats) and this
 * process's CPU, which stands for the hub's.
 *
 *   node --import tsx bench/reconcile-cost.ts
 *
 * A diagnostic to run by hand, not a phase of `npm run bench`: it makes its
 * own database (TEST_POSTGRES_ADMIN_URL, as the tests do) and Redis prefix,
 * and drops both at the end. `--redis URL` picks another Redis.
 */
import { createClient } from 'redis';
import { parseCli } from '../src/public/cli.ts';
import { generateFleet, TIMES_SQUARE } from '../src/public/fleet.ts';
import { createIndexReconciler, createLogger, createPostgresStore, createRedisIndex, repairIndex } from '../src/public/setup.ts';
import { createPrivateDatabase, withClient } from '../tools/testkit/database.ts';

const DRIVERS = 10_000;
/** Longer than a pass's overlap (RECONCILE_OVERLAP_MS): the rows seeded before it are no longer re-read. */
const SETTLE_MS = 6000;
const STALE_AFTER_MS = 3_600_000;

const USAGE = 'usage: node --import tsx bench/reconcile-cost.ts [--redis redis://127.0.0.1:6379]';
const { redis: url } = parseCli(USAGE, { redis: { type: 'string', default: 'redis://127.0.0.1:6379' } });
const prefix = `reconcile-cost:${process.pid}:`;

const db = await createPrivateDatabase();
const store = createPostgresStore({ url: db.url, poolSize: 2 });
const geo = createRedisIndex({ url, keyPrefix: prefix, commandTimeoutMs: 30_000 });
const redis = createClient({ url });
const logger = createLogger('silent');

/** Redis's time in scripts so far, µs. */
async function scriptUsec(): Promise<number> {
  let usec = 0;
  for (const line of (await redis.info('commandstats')).split('\r\n')) {
    const match = /^cmdstat_(evalsha|eval):calls=\d+,usec=(\d+)/.exec(line);
    if (match) usec += Number(match[2]);
  }
  return usec;
}

async function measure(label: string, pass: () => Promise<object>): Promise<void> {
  const usecBefore = await scriptUsec();
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  const report = await pass();
  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  const redisMs = ((await scriptUsec()) - usecBefore) / 1000;
  console.log(
    `${label}: ${wallMs.toFixed(1)} ms wall, Redis ${redisMs.toFixed(1)} ms in scripts, this process ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms CPU; ${JSON.stringify(report)}`,
  );
}

try {
  await Promise.all([redis.connect(), geo.connect(), store.migrate()]);
  await store.insertDrivers([...generateFleet({ count: DRIVERS, seed: 11, center: TIMES_SQUARE, radiusKm: 6, onlineShare: 1 })]);
  await repairIndex(store, geo, STALE_AFTER_MS, logger);
  const reconcilePass = createIndexReconciler(store, geo, STALE_AFTER_MS);
  await reconcilePass();
  for (let run = 1; run <= 2; run++) {
    await measure(`full repair, healthy index, run ${run}`, () => repairIndex(store, geo, STALE_AFTER_MS, logger));
  }
  // A pause on purpose: the seeded rows must fall out of the incremental pass's overlap window.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  await reconcilePass();
  await measure('incremental, nothing changed', reconcilePass);
  await withClient(db.url, (client) => client.query('UPDATE drivers SET updated_at = now()'));
  await measure(`incremental, ${DRIVERS} rows changed, newer than the index`, reconcilePass);
  await measure(`incremental, the same ${DRIVERS} rows again, already indexed (a streaming fleet)`, reconcilePass);
} finally {
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
  if (keys.length > 0) await redis.del(keys);
  await Promise.allSettled([redis.close(), geo.close(), store.close()]);
  await db.drop();
}
