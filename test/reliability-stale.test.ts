import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { withDb } from './support/fleet.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { placeInIndex, readRedisIndex } from './support/index-check.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { framePosition, RecordingDriver, waitUntil } from './support/recording-driver.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';
import { createSeededDatabase } from './support/seeded-database.ts';
import { startTcpProxy, type TcpProxy } from '../tools/testkit/tcp-proxy.ts';
import { connectSteadily } from './support/steady-connect.ts';
import type { TestClient } from './support/ws-client.ts';

const STALE_AFTER_MS = 1000;

let db: PrivateDatabase;
let ids: number[];
let redisProxy: TcpProxy;
let hub: HubProcess;
let rider: TestClient;
const prefix = uniquePrefix('stale');

beforeAll(async () => {
  ({ db, ids } = await createSeededDatabase(20));
  // A proxy of this file's own in front of the shared Redis, so the test can hang it and see the SQL side.
  redisProxy = await startTcpProxy('127.0.0.1', Number(new URL(SHARED_REDIS_URL).port));
  hub = await startHubProcess(
    {
      DATABASE_URL: db.url,
      REDIS_URL: redisProxy.url(SHARED_REDIS_URL),
      REDIS_KEY_PREFIX: prefix,
      STALE_AFTER_MS: String(STALE_AFTER_MS),
      REDIS_COMMAND_TIMEOUT_MS: '250',
      REDIS_PROBE_INTERVAL_MS: '250',
      RIDER_QUERIES_PER_S: '1000',
      RIDER_QUERY_BURST: '10000',
    },
    'stale',
  );
  rider = await connectSteadily(hub.wsUrl('/ws/rider'));
});
afterAll(async () => {
  rider?.close();
  await killHubProcess(hub);
  redisProxy?.restore();
  await redisProxy?.close();
  await Promise.allSettled([db.drop(), dropPrefix(prefix)]);
});

/**
 * Until the answer comes from the index: on a loaded machine one search may
 * miss the short Redis deadline and be answered from SQL, while the index
 * stays in use; that is not what these checks are about.
 */
const fromIndex = { timeout: 5000, interval: 100 };

let queryCount = 0;
async function nearbyIds(at: { lat: number; lng: number }): Promise<{ source: string; ids: number[] }> {
  const id = `q${++queryCount}`;
  rider.send({ t: 'nearby', id, lat: at.lat, lng: at.lng, radiusKm: 0.5, limit: 50 });
  const answer = await rider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === id, 5000);
  return { source: answer.source, ids: answer.drivers.map((driver) => driver.id) };
}

const statusOf = (id: number) =>
  withDb(db.url, async (client) => (await client.query<{ status: string }>('SELECT status FROM drivers WHERE id = $1', [id])).rows[0]?.status);

it('leaves a silent driver out of nearby and out of the index, keeps its declared status, and brings it back with its next frame', async () => {
  const driver = new RecordingDriver(ids[0]!);
  await driver.connect(`ws://127.0.0.1:${hub.port}`);
  driver.sendNext();
  await waitUntil(() => driver.lastAck === 1, 5000, 'the first ack');
  const where = framePosition(driver.id, 1);
  await expect.poll(() => nearbyIds(where), fromIndex).toEqual({ source: 'redis', ids: [driver.id] });

  // Silent, though still connected: after STALE_AFTER_MS it is gone from answers and from the index.
  const silentSince = Date.now();
  await expect.poll(async () => (await readRedisIndex(SHARED_REDIS_URL, prefix)).has(driver.id), { timeout: 5000, interval: 100 }).toBe(false);
  expect(Date.now() - silentSince).toBeGreaterThanOrEqual(STALE_AFTER_MS - 50);
  await expect.poll(() => nearbyIds(where), fromIndex).toEqual({ source: 'redis', ids: [] });

  // Whatever the index still holds: put the ghost back by hand, it is still left out.
  const client = createClient({ url: SHARED_REDIS_URL });
  await client.connect();
  await placeInIndex(client, prefix, { id: driver.id, lat: where.lat, lng: where.lng, seenAtMs: silentSince - 10 });
  await client.close();
  await expect.poll(() => nearbyIds(where), fromIndex).toEqual({ source: 'redis', ids: [] });

  // The SQL fallback judges freshness the same way.
  redisProxy.hang();
  await expect.poll(async () => (await nearbyIds(where)).source, { timeout: 5000, interval: 100 }).toBe('sql');
  expect((await nearbyIds(where)).ids).toEqual([]);
  redisProxy.restore();
  await expect.poll(async () => (await nearbyIds(where)).source, { timeout: 10_000, interval: 100 }).toBe('redis');

  // Policy: silence changes nothing in PostgreSQL; staleness is derived from updated_at.
  expect(await statusOf(driver.id)).toBe('online');

  driver.sendNext();
  await waitUntil(() => driver.lastAck === 2, 5000, 'the next ack');
  const back = framePosition(driver.id, 2);
  await expect.poll(() => nearbyIds(back), fromIndex).toEqual({ source: 'redis', ids: [driver.id] });
  expect((await readRedisIndex(SHARED_REDIS_URL, prefix)).has(driver.id)).toBe(true);
  driver.close();
});
