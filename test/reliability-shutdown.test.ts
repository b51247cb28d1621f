import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { checkDelivery } from './support/delivery-check.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import type { HubExit } from '../tools/testkit/hub-process.ts';
import { metricValue } from './support/hub-metrics.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { connectAll, describeLagging, RecordingDriver, waitUntil } from './support/recording-driver.ts';
import { dropPrefix, uniquePrefix } from '../tools/testkit/redis.ts';
import { createSeededDatabase } from './support/seeded-database.ts';
import { startTcpProxy, type TcpProxy } from '../tools/testkit/tcp-proxy.ts';
import { stringMatching } from './support/matchers.ts';

const TICK_MS = 100;
/**
 * Each test starts a hub process and connects its fleet: about 10 s on a
 * quiet box, a minute on one at a load of 25. Every wait gives up on its own
 * and says what did not happen; this only catches a run slow everywhere.
 */
const TEST_TIMEOUT_MS = 120_000;

let db: PrivateDatabase;
let ids: number[];
let postgresProxy: TcpProxy;
const prefix = uniquePrefix('shutdown');
const hubs: HubProcess[] = [];

beforeAll(async () => {
  ({ db, ids } = await createSeededDatabase(300));
  postgresProxy = await startTcpProxy('127.0.0.1', 5432);
});
afterEach(() => postgresProxy.restore());
afterAll(async () => {
  await Promise.all(hubs.map(killHubProcess));
  await postgresProxy.close();
  await Promise.allSettled([db.drop(), dropPrefix(prefix)]);
});

async function startHub(label: string, env: Record<string, string> = {}): Promise<HubProcess> {
  const hub = await startHubProcess(
    { DATABASE_URL: db.url, REDIS_URL: 'redis://127.0.0.1:6379', REDIS_KEY_PREFIX: prefix, DRIVER_FRAMES_PER_S: '1000', DRIVER_FRAME_BURST: '10000', ...env },
    label,
  );
  hubs.push(hub);
  return hub;
}

function stream(drivers: RecordingDriver[]): () => void {
  const timer = setInterval(() => {
    for (const driver of drivers) driver.sendNext();
  }, TICK_MS);
  return () => clearInterval(timer);
}

/** The hub's exit, or a failure naming it when the process outlives `withinMs` after its signal. */
async function exitOf(hub: HubProcess, withinMs: number): Promise<HubExit> {
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the hub did not exit within ${withinMs} ms of its signal:\n${hub.output()}`)), withinMs);
  });
  return Promise.race([hub.exited, overdue]).finally(() => clearTimeout(timer));
}

/** A fresh TCP connection each time: an HTTP client would reuse a kept-alive one. */
const refusesConnections = (hub: HubProcess) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(hub.port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

it(
  'on SIGTERM under load commits and acks every frame sent before the signal, closes every socket with 1001, and exits 0 in time',
  async () => {
    const deadlineMs = 5000;
    const hub = await startHub('shutdown-term', { SHUTDOWN_DEADLINE_MS: String(deadlineMs) });
    const drivers = ids.slice(0, 200).map((id) => new RecordingDriver(id));
    await connectAll(drivers, `ws://127.0.0.1:${hub.port}`);
    const stopStreaming = stream(drivers);
    // Under load: every driver streaming and being acked.
    await waitUntil(
      () => drivers.every((driver) => driver.lastAck >= 10),
      20_000,
      'ten acks for every driver',
      () => describeLagging(drivers),
    );

    const sentBeforeSignal = drivers.map((driver) => driver.lastSent);
    const signalledAt = Date.now();
    hub.signal('SIGTERM');
    // Drivers go on streaming until the hub closes them, as real ones would.
    const exit = await exitOf(hub, 30_000);
    stopStreaming();

    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(deadlineMs);
    for (const driver of drivers) {
      expect(driver.closes).toHaveLength(1);
      expect(driver.closes[0]).toMatchObject({ code: 1001, reason: stringMatching(/shutting down/) });
    }
    const unackedBeforeSignal = drivers.filter((driver, i) => driver.lastAck < sentBeforeSignal[i]!).map((driver) => driver.id);
    expect(unackedBeforeSignal).toEqual([]);
    const report = await checkDelivery(db.url, drivers);
    expect(report.violations).toEqual([]);
    console.log(
      `[shutdown] SIGTERM: ${sentBeforeSignal.reduce((a, b) => a + b, 0)} frames sent before the signal, all acked; exit 0 after ${exit.at - signalledAt} ms`,
    );
  },
  TEST_TIMEOUT_MS,
);

it(
  'on SIGINT stops accepting connections at once but holds the sockets open until frames held by a stalled database are committed and acked',
  async () => {
    const hub = await startHub('shutdown-int', {
      DATABASE_URL: postgresProxy.url(db.url),
      SHUTDOWN_DEADLINE_MS: '20000',
      PG_STATEMENT_TIMEOUT_MS: '1000',
      PG_CONNECT_TIMEOUT_MS: '1000',
    });
    const drivers = ids.slice(200, 250).map((id) => new RecordingDriver(id));
    await connectAll(drivers, `ws://127.0.0.1:${hub.port}`);
    for (const driver of drivers) driver.sendNext();
    await waitUntil(
      () => drivers.every((driver) => driver.lastAck === driver.lastSent),
      10_000,
      'acks before the stall',
      () => describeLagging(drivers),
    );

    postgresProxy.hang();
    for (let round = 0; round < 3; round++) for (const driver of drivers) driver.sendNext();
    await expect
      .poll(() => metricValue(hub, 'hub_pending_frames'), { timeout: 10_000, interval: 20, message: 'the hub holds the frames sent during the stall' })
      .toBe(drivers.length * 3);
    const logBeforeSignal = hub.output().length;
    hub.signal('SIGINT');
    const refusedSince = Date.now();
    while (!(await refusesConnections(hub))) {
      if (Date.now() - refusedSince > 5000) throw new Error('the hub kept accepting connections after SIGINT');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Stalled: once the held batch's commit has failed, not a frame sent during the stall is acked, and no driver was sent away.
    await waitUntil(
      () => hub.output().slice(logBeforeSignal).includes('batch commit failed; holding frames'),
      15_000,
      'the held batch to fail',
      () => hub.output(),
    );
    expect(drivers.every((driver) => driver.connected && driver.lastAck === driver.lastSent - 3)).toBe(true);

    postgresProxy.restore();
    const exit = await exitOf(hub, 40_000);
    expect(exit.code).toBe(0);
    expect(drivers.every((driver) => driver.lastAck === driver.lastSent)).toBe(true);
    expect(drivers.every((driver) => driver.closes[0]?.code === 1001)).toBe(true);
    const report = await checkDelivery(db.url, drivers);
    expect(report.violations).toEqual([]);
  },
  TEST_TIMEOUT_MS,
);

it(
  'exits within the deadline when the database never returns, acking nothing it could not commit',
  async () => {
    const deadlineMs = 2000;
    const hub = await startHub('shutdown-deadline', {
      DATABASE_URL: postgresProxy.url(db.url),
      SHUTDOWN_DEADLINE_MS: String(deadlineMs),
      PG_STATEMENT_TIMEOUT_MS: '1000',
      PG_CONNECT_TIMEOUT_MS: '500',
    });
    const drivers = ids.slice(250, 260).map((id) => new RecordingDriver(id));
    await connectAll(drivers, `ws://127.0.0.1:${hub.port}`);
    postgresProxy.hang();
    for (const driver of drivers) driver.sendNext();
    await expect
      .poll(() => metricValue(hub, 'hub_pending_frames'), { timeout: 10_000, interval: 20, message: 'the hub holds the frames' })
      .toBe(drivers.length);
    const signalledAt = Date.now();
    hub.signal('SIGTERM');
    const exit = await exitOf(hub, 30_000);
    postgresProxy.restore();
    expect(exit.code).toBe(0);
    expect(exit.at - signalledAt).toBeLessThan(deadlineMs + 1500);
    expect(drivers.every((driver) => driver.lastAck === 0 && driver.closes[0]?.code === 1001)).toBe(true);
    const report = await checkDelivery(db.url, drivers);
    expect(report.violations).toEqual([]);
    console.log(`[shutdown] database gone: exit 0 ${exit.at - signalledAt} ms after SIGTERM with SHUTDOWN_DEADLINE_MS=${deadlineMs}`);
  },
  TEST_TIMEOUT_MS,
);
