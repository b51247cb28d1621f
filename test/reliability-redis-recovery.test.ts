import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { readinessReportSchema } from '../src/protocol/rest.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { indexDifferences } from './support/index-check.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { connectAll, describeLagging, RecordingDriver, waitUntil } from './support/recording-driver.ts';
import { startPrivateRedis, type PrivateRedis } from '../tools/testkit/private-redis.ts';
import { createSeededDatabase } from './support/seeded-database.ts';
import { startTcpProxy, type TcpProxy } from '../tools/testkit/tcp-proxy.ts';
import { connectSteadily } from './support/steady-connect.ts';
import type { TestClient } from './support/ws-client.ts';

const STALE_AFTER_MS = 600_000;
const PREFIX = 'hub:';

let db: PrivateDatabase;
let ids: number[];
let redis: PrivateRedis;
let proxy: TcpProxy;
let hub: HubProcess;
let rider: TestClient;

beforeAll(async () => {
  ({ db, ids } = await createSeededDatabase(200));
  redis = await startPrivateRedis();
  proxy = await startTcpProxy('127.0.0.1', redis.port);
  hub = await startHubProcess(
    {
      DATABASE_URL: db.url,
      REDIS_URL: proxy.url(redis.url),
      REDIS_KEY_PREFIX: PREFIX,
      REDIS_COMMAND_TIMEOUT_MS: '250',
      REDIS_PROBE_INTERVAL_MS: '250',
      // Only the outage repair may fix the index here, not the periodic pass.
      RECONCILE_INTERVAL_MS: '3600000',
      STALE_AFTER_MS: String(STALE_AFTER_MS),
      RIDER_QUERIES_PER_S: '1000',
      RIDER_QUERY_BURST: '10000',
      DRIVER_FRAMES_PER_S: '1000',
      DRIVER_FRAME_BURST: '10000',
    },
    'redis-recovery',
  );
  rider = await connectSteadily(hub.wsUrl('/ws/rider'));
});
afterAll(async () => {
  rider?.close();
  await killHubProcess(hub);
  await proxy?.close();
  await redis?.stop();
  await db?.drop();
});

let queryCount = 0;
async function nearby(): Promise<{ source: string; ms: number; at: number }> {
  const id = `q${++queryCount}`;
  const started = Date.now();
  rider.send({ t: 'nearby', id, lat: 40.75, lng: -73.96, radiusKm: 20, limit: 20 });
  const answer = await rider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === id, 5000);
  return { source: answer.source, ms: Date.now() - started, at: Date.now() };
}

/** Asks again and again until an answer comes from `source`; every answer on the way must be prompt. */
async function untilSource(source: string, since: number, timeoutMs: number): Promise<{ afterMs: number; slowestMs: number }> {
  let slowestMs = 0;
  for (;;) {
    const answer = await nearby();
    slowestMs = Math.max(slowestMs, answer.ms);
    if (answer.source === source) return { afterMs: answer.at - since, slowestMs };
    if (Date.now() - since > timeoutMs) throw new Error(`nearby still not from ${source} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** While the index is out of reach: drivers move (acked all the same) and one goes offline. */
async function changeFleetDuringOutage(drivers: RecordingDriver[], goingOffline: RecordingDriver): Promise<void> {
  for (let round = 0; round < 3; round++) for (const driver of drivers) driver.sendNext();
  await waitUntil(
    () => drivers.every((driver) => driver.lastAck === driver.lastSent),
    10_000,
    'acks while Redis is out',
    () => describeLagging(drivers),
  );
  const statusSocket = await connectSteadily(hub.wsUrl(`/ws/driver?id=${goingOffline.id}`));
  await statusSocket.waitFor((m) => m.t === 'hello');
  const mark = statusSocket.received.length;
  statusSocket.send({ t: 'status', status: 'offline' });
  await statusSocket.waitFor((m) => m.t === 'ack', 5000, mark);
  statusSocket.close();
}

it('when Redis stops answering: nearby falls back to SQL within a second, and back to Redis after repairing what it missed', async () => {
  // The index is in use to begin with. Waited for: on a loaded machine one search may miss the short deadline and be answered from SQL while the index stays in use.
  await expect.poll(async () => (await nearby()).source, { timeout: 10_000, interval: 100 }).toBe('redis');
  const drivers = ids.slice(0, 10).map((id) => new RecordingDriver(id));
  await connectAll(drivers, `ws://127.0.0.1:${hub.port}`);

  const hungAt = Date.now();
  proxy.hang();
  const toSql = await untilSource('sql', hungAt, 3000);
  expect(toSql.afterMs).toBeLessThan(1000);
  expect(toSql.slowestMs).toBeLessThan(1000);
  await changeFleetDuringOutage(drivers.slice(0, 9), drivers[9]!);
  expect(await indexDifferences(redis.url, PREFIX, db.url, STALE_AFTER_MS)).not.toEqual([]);

  const restoredAt = Date.now();
  proxy.restore();
  const toRedis = await untilSource('redis', restoredAt, 10_000);
  expect(await indexDifferences(redis.url, PREFIX, db.url, STALE_AFTER_MS)).toEqual([]);
  console.log(
    `[redis-recovery] hung Redis: nearby from SQL after ${toSql.afterMs} ms (slowest answer ${toSql.slowestMs} ms); back to Redis ${toRedis.afterMs} ms after it answered again`,
  );
  for (const driver of drivers) driver.close();
});

it('when Redis crashes and restarts empty: nearby falls back to SQL within a second, and back to Redis once the index is rebuilt', async () => {
  // The index is in use to begin with. Waited for: on a loaded machine one search may miss the short deadline and be answered from SQL while the index stays in use.
  await expect.poll(async () => (await nearby()).source, { timeout: 10_000, interval: 100 }).toBe('redis');
  const drivers = ids.slice(10, 20).map((id) => new RecordingDriver(id));
  await connectAll(drivers, `ws://127.0.0.1:${hub.port}`);

  const stoppedAt = Date.now();
  await redis.stop();
  const toSql = await untilSource('sql', stoppedAt, 3000);
  expect(toSql.afterMs).toBeLessThan(1000);
  expect(toSql.slowestMs).toBeLessThan(1000);
  await changeFleetDuringOutage(drivers.slice(0, 9), drivers[9]!);

  await redis.restart();
  const restartedAt = Date.now();
  const toRedis = await untilSource('redis', restartedAt, 10_000);
  expect(await indexDifferences(redis.url, PREFIX, db.url, STALE_AFTER_MS)).toEqual([]);
  console.log(
    `[redis-recovery] crashed Redis: nearby from SQL after ${toSql.afterMs} ms (slowest answer ${toSql.slowestMs} ms); back to Redis ${toRedis.afterMs} ms after the empty restart`,
  );
  for (const driver of drivers) driver.close();
});

it('starts without Redis on the SQL fallback and switches to Redis once it appears', async () => {
  const lateRedis = await startTcpProxy('127.0.0.1', redis.port);
  lateRedis.cut();
  const late = await startHubProcess(
    {
      DATABASE_URL: db.url,
      REDIS_URL: lateRedis.url(redis.url),
      REDIS_KEY_PREFIX: 'late:',
      STALE_AFTER_MS: String(STALE_AFTER_MS),
      REDIS_PROBE_INTERVAL_MS: '250',
    },
    'redis-late',
  );
  try {
    const ready = readinessReportSchema.parse(await (await fetch(late.httpUrl('/readyz'))).json());
    expect(ready).toMatchObject({ ready: true, postgres: 'up', geo: { kind: 'redis', state: 'down' } });
    const lateRider = await connectSteadily(late.wsUrl('/ws/rider'));
    const ask = async (id: string) => {
      lateRider.send({ t: 'nearby', id, lat: 40.75, lng: -73.96, radiusKm: 20, limit: 20 });
      return (await lateRider.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === id, 5000)).source;
    };
    expect(await ask('before')).toBe('sql');
    lateRedis.restore();
    await expect.poll(() => ask(`after-${Date.now()}`), { timeout: 10_000, interval: 100 }).toBe('redis');
    expect(await indexDifferences(redis.url, 'late:', db.url, STALE_AFTER_MS)).toEqual([]);
    lateRider.close();
  } finally {
    await killHubProcess(late);
    await lateRedis.close();
  }
});
