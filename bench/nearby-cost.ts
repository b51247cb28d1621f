/**
 * Where a nearby search's cost goes, against Redis's own: the same searches
 * (radius, COUNT, points over the fleet's area) as one raw GEOSEARCH on a
 * single key holding the whole fleet, and as the hub's index search (one
 * Lua script per cell the circle reaches, merged in the hub). Reports, per
 * search, Redis's time by command (INFO commandstats) and this process's
 * CPU, which stands for the hub's share of the index search.
 *
 *   node --import tsx bench/nearby-cost.ts [--redis redis://127.0.0.1:6379]
 *
 * A diagnostic to run by hand, not a phase of `npm run bench`: it needs only
 * Redis, and writes its own keys under a prefix it deletes at the end.
 */
import { createClient } from 'redis';
import { parseCli } from '../src/public/cli.ts';
import { randomPointInDisc } from '../src/domain/geo.ts';
import { createRng } from '../src/domain/random.ts';
import { TIMES_SQUARE } from '../src/public/fleet.ts';
import { createRedisIndex } from '../src/public/setup.ts';

const DRIVERS = 10_000;
const SPREAD_KM = 8;
const RADIUS_KM = 2;
/** What the nearby service asks the index for at limit 10 (limit × 2 + 16). */
const COUNT = 36;
const SEARCHES = 20_000;
const IN_FLIGHT = 32;
const ROUNDS = 2;

const USAGE = 'usage: node --import tsx bench/nearby-cost.ts [--redis redis://127.0.0.1:6379]';
const { redis: url } = parseCli(USAGE, { redis: { type: 'string', default: 'redis://127.0.0.1:6379' } });
const prefix = `nearby-cost:${process.pid}:`;
const rawKey = `${prefix}raw`;

type CommandStats = Map<string, { calls: number; usec: number }>;

const client = createClient({ url });
await client.connect();
const index = createRedisIndex({ url, keyPrefix: prefix, commandTimeoutMs: 30_000 });
await index.connect();

async function commandStats(): Promise<CommandStats> {
  const stats: CommandStats = new Map();
  for (const line of (await client.info('commandstats')).split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

/** Runs SEARCHES searches, IN_FLIGHT at a time, and prints their cost per search. */
async function measure(label: string, search: (point: { lat: number; lng: number }) => Promise<unknown>, points: Array<{ lat: number; lng: number }>) {
  const before = await commandStats();
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < SEARCHES) await search(points[next++ % points.length]!);
    }),
  );
  const wallMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  const after = await commandStats();
  const commands: string[] = [];
  for (const [command, total] of after) {
    const calls = total.calls - (before.get(command)?.calls ?? 0);
    if (calls < SEARCHES / 10) continue;
    const usec = total.usec - (before.get(command)?.usec ?? 0);
    commands.push(`${command}: ${(calls / SEARCHES).toFixed(2)} calls, ${(usec / SEARCHES).toFixed(1)} µs`);
  }
  console.log(
    `${label}: ${Math.round((SEARCHES / wallMs) * 1000)} searches/s; per search: ${commands.join('; ')} (a script's time includes the commands it runs); this process ${((cpu.user + cpu.system) / SEARCHES).toFixed(1)} µs CPU`,
  );
}

try {
  const rng = createRng(7);
  const now = Date.now();
  const fleet = Array.from({ length: DRIVERS }, (_, i) => ({ id: i + 1, ...randomPointInDisc(rng, TIMES_SQUARE, SPREAD_KM) }));
  await index.apply({
    ids: fleet.map((driver) => driver.id),
    lats: fleet.map((driver) => driver.lat),
    lngs: fleet.map((driver) => driver.lng),
    seenAtMs: fleet.map(() => now),
    removeIds: [],
  });
  await client.geoAdd(
    rawKey,
    fleet.map((driver) => ({ longitude: driver.lng, latitude: driver.lat, member: String(driver.id) })),
  );
  const points = Array.from({ length: 4096 }, () => randomPointInDisc(rng, TIMES_SQUARE, SPREAD_KM));
  console.log(`${DRIVERS} drivers within ${SPREAD_KM} km, radius ${RADIUS_KM} km, COUNT ${COUNT}, ${IN_FLIGHT} searches in flight`);
  for (let round = 1; round <= ROUNDS; round++) {
    await measure(
      `round ${round}, raw GEOSEARCH on one key`,
      (point) =>
        client.sendCommand([
          'GEOSEARCH',
          rawKey,
          'FROMLONLAT',
          String(point.lng),
          String(point.lat),
          'BYRADIUS',
          String(RADIUS_KM),
          'km',
          'ASC',
          'COUNT',
          String(COUNT),
          'WITHDIST',
        ]),
      points,
    );
    await measure(
      `round ${round}, hub index search (the cells' script, merged)`,
      (point) => index.search({ lat: point.lat, lng: point.lng, radiusKm: RADIUS_KM, count: COUNT, freshSinceMs: now - 60_000 }),
      points,
    );
  }
} finally {
  const keys: string[] = [];
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch);
  if (keys.length > 0) await client.del(keys);
  await index.close();
  await client.close();
}
