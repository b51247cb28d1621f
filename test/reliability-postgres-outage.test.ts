import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { readinessReportSchema, type ReadinessReport } from '../src/protocol/rest.ts';
import { checkDelivery } from './support/delivery-check.ts';
import { withDb } from './support/fleet.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { metricValue } from './support/hub-metrics.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { connectAll, describeLagging, RecordingDriver, waitUntil } from './support/recording-driver.ts';
import { dropPrefix, uniquePrefix } from '../tools/testkit/redis.ts';
import { createSeededDatabase } from './support/seeded-database.ts';
import { startTcpProxy, type TcpProxy } from '../tools/testkit/tcp-proxy.ts';
import { TestClient } from './support/ws-client.ts';

const PENDING_MAX_FRAMES = 100;
const READINESS_TIMEOUT_MS = 500;

let db: PrivateDatabase;
let ids: number[];
let proxy: TcpProxy;
let hub: HubProcess;
const prefix = uniquePrefix('pg-outage');

beforeAll(async () => {
  ({ db, ids } = await createSeededDatabase(60));
  proxy = await startTcpProxy('127.0.0.1', 5432);
  hub = await startHubProcess(
    {
      DATABASE_URL: proxy.url(db.url),
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: prefix,
      PENDING_MAX_FRAMES: String(PENDING_MAX_FRAMES),
      PG_STATEMENT_TIMEOUT_MS: '1000',
      PG_CONNECT_TIMEOUT_MS: '500',
      READINESS_TIMEOUT_MS: String(READINESS_TIMEOUT_MS),
      DRIVER_FRAMES_PER_S: '1000',
      DRIVER_FRAME_BURST: '10000',
    },
    'pg-outage',
  );
});
afterEach(() => proxy.restore());
afterAll(async () => {
  await killHubProcess(hub);
  await proxy.close();
  await Promise.allSettled([db.drop(), dropPrefix(prefix)]);
});

async function readiness(): Promise<{ status: number; ms: number; body: ReadinessReport }> {
  const started = Date.now();
  const response = await fetch(hub.httpUrl('/readyz'));
  return { status: response.status, ms: Date.now() - started, body: readinessReportSchema.parse(await response.json()) };
}

/** What PostgreSQL itself holds, read past the proxy. */
async function committedSeqs(driverIds: number[]): Promise<number[]> {
  return withDb(db.url, async (client) => {
    const { rows } = await client.query<{ last_seq: string }>('SELECT last_seq FROM drivers WHERE id = ANY($1::int[]) ORDER BY id', [driverIds]);
    return rows.map((row) => Number(row.last_seq));
  });
}

const failedCommits = () => metricValue(hub, 'hub_store_errors_total{op="write_batch"}');

/** Resolves once `count` more batch commits have failed than `before`: the hub has tried the database, and tried again. */
async function commitsFailed(before: number, count: number): Promise<void> {
  await expect.poll(failedCommits, { timeout: 15_000, interval: 50, message: `${count} failed batch commits` }).toBeGreaterThanOrEqual(before + count);
}

function sendRound(drivers: RecordingDriver[]): void {
  for (const driver of drivers) driver.sendNext();
}

/** Drivers connected to the hub, each with its first frame committed and acked: a healthy start. */
async function connectedAndAcked(driverIds: number[]): Promise<RecordingDriver[]> {
  const drivers = driverIds.map((id) => new RecordingDriver(id));
  await connectAll(drivers, `ws://127.0.0.1:${hub.port}`);
  sendRound(drivers);
  await waitUntil(
    () => drivers.every((driver) => driver.lastAck === 1),
    10_000,
    'the first acks',
    () => describeLagging(drivers),
  );
  return drivers;
}

it('when PostgreSQL goes down: stays up and says so, holds frames to the bound unacked, refuses the rest, then commits all in order', async () => {
  const drivers = await connectedAndAcked(ids.slice(0, 20));
  expect((await readiness()).status).toBe(200);

  const failedBeforeCut = await failedCommits();
  proxy.cut();
  const down = await readiness();
  expect(down.status).toBe(503);
  expect(down.body).toMatchObject({ ready: false, postgres: 'down' });
  expect(down.ms).toBeLessThan(READINESS_TIMEOUT_MS + 1000);
  expect((await fetch(hub.httpUrl('/healthz'))).status).toBe(200);
  // A driver cannot learn its resume point now: told to come back, not failed.
  await expect(TestClient.connect(hub.wsUrl(`/ws/driver?id=${ids[30]}`))).rejects.toThrow(/HTTP 503/);

  // Seven rounds of twenty frames against a bound of a hundred: forty are refused.
  const rounds = 7;
  for (let round = 0; round < rounds; round++) {
    sendRound(drivers);
    // Paced on purpose: rounds arrive a moment apart, as a fleet's ticks do, not as one burst.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const refusedCount = (driver: RecordingDriver) => driver.errors.filter((code) => code === 'overloaded').length;
  const refusedTotal = rounds * drivers.length - PENDING_MAX_FRAMES;
  await waitUntil(() => drivers.reduce((sum, driver) => sum + refusedCount(driver), 0) === refusedTotal, 5000, 'overloaded errors');
  // Held, not lost and not acked: the hub has failed to commit them and failed again on its retry.
  await commitsFailed(failedBeforeCut, 2);
  expect(drivers.every((driver) => driver.lastAck === 1)).toBe(true);
  expect((await readiness()).body.pendingFrames).toBe(PENDING_MAX_FRAMES);
  expect(await committedSeqs(drivers.map((driver) => driver.id))).toEqual(drivers.map(() => 1));

  const restoredAt = Date.now();
  proxy.restore();
  // A driver's refusals are its newest frames: once one is refused, every later one is too.
  await waitUntil(
    () => drivers.every((driver) => driver.lastAck === driver.lastSent - refusedCount(driver)),
    15_000,
    'the held frames to be acked',
    () => describeLagging(drivers),
  );
  const heldCommittedMs = Date.now() - restoredAt;
  expect(await committedSeqs(drivers.map((driver) => driver.id))).toEqual(drivers.map((driver) => driver.lastAck));
  expect((await readiness()).status).toBe(200);

  // The refused frames come in as the drivers resend what is unacked.
  for (const driver of drivers) driver.resendUnacked();
  await waitUntil(
    () => drivers.every((driver) => driver.lastAck === driver.lastSent),
    10_000,
    'the resent frames to be acked',
    () => describeLagging(drivers),
  );
  const report = await checkDelivery(db.url, drivers);
  expect(report.violations).toEqual([]);
  console.log(
    `[pg-outage] /readyz answered 503 in ${down.ms} ms; ${PENDING_MAX_FRAMES} held frames committed and acked ${heldCommittedMs} ms after PostgreSQL returned`,
  );
  for (const driver of drivers) driver.close();
});

it('when PostgreSQL stops answering (a hung network), times out instead of hanging and commits the held frames once it answers again', async () => {
  const drivers = await connectedAndAcked(ids.slice(20, 40));

  const failedBeforeHang = await failedCommits();
  proxy.hang();
  sendRound(drivers);
  sendRound(drivers);
  const down = await readiness();
  expect(down.status).toBe(503);
  expect(down.ms).toBeLessThan(READINESS_TIMEOUT_MS + 1000);
  // The stuck batch times out (statement timeout plus its client-side margin) instead of hanging, and is held for a retry.
  await commitsFailed(failedBeforeHang, 1);
  expect(drivers.every((driver) => driver.lastAck === 1)).toBe(true);

  proxy.restore();
  await waitUntil(
    () => drivers.every((driver) => driver.lastAck === 3),
    15_000,
    'the held frames to be acked',
    () => describeLagging(drivers),
  );
  expect((await readiness()).status).toBe(200);
  expect((await checkDelivery(db.url, drivers)).violations).toEqual([]);
  for (const driver of drivers) driver.close();
});

it('when PostgreSQL is slow (rows locked past the statement timeout), acks nothing until the batch really commits', async () => {
  const drivers = await connectedAndAcked(ids.slice(40, 50));

  const failedBeforeLock = await failedCommits();
  await withDb(db.url, async (client) => {
    await client.query('BEGIN');
    await client.query('SELECT id FROM drivers WHERE id = ANY($1::int[]) FOR UPDATE', [drivers.map((driver) => driver.id)]);
    sendRound(drivers);
    // The batch waits on the locks past the statement timeout, fails, and is held.
    await commitsFailed(failedBeforeLock, 1);
    expect(drivers.every((driver) => driver.lastAck === 1)).toBe(true);
    // The database itself still answers: the hub is ready, with frames pending.
    const slow = await readiness();
    expect(slow.status).toBe(200);
    expect(slow.body.pendingFrames).toBe(drivers.length);
    await client.query('COMMIT');
  });
  await waitUntil(
    () => drivers.every((driver) => driver.lastAck === 2),
    15_000,
    'the held frames to be acked',
    () => describeLagging(drivers),
  );
  expect((await checkDelivery(db.url, drivers)).violations).toEqual([]);
  for (const driver of drivers) driver.close();
});
