import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { freePort } from '../tools/testkit/free-port.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';
import { checkDelivery } from './support/delivery-check.ts';
import { connectAll, describeLagging, RecordingDriver, waitUntil } from './support/recording-driver.ts';
import { REPO_ROOT } from './support/run-entry.ts';
import { createSeededDatabase } from './support/seeded-database.ts';

const DRIVERS = 200;
const TICK_MS = 100;

let db: PrivateDatabase;
let ids: number[];
const prefix = uniquePrefix('sigint-drain');
const children: ChildProcess[] = [];

beforeAll(async () => {
  ({ db, ids } = await createSeededDatabase(DRIVERS));
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await Promise.allSettled([db.drop(), dropPrefix(prefix)]);
});

/** A process that keeps one core busy, as other work on a loaded machine would. */
function busyLoop(): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  children.push(child);
  return child;
}

it('SIGINT to the `npm start` process group under CPU load drains: exit 0, every frame sent before the signal committed, drained logged', async () => {
  const port = await freePort();
  // Its own process group, as a terminal gives a foreground job: Ctrl-C reaches npm and the hub alike.
  const npm = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ENV_FILE: 'none',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: db.url,
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'info',
      SHUTDOWN_DEADLINE_MS: '20000',
      DRIVER_FRAMES_PER_S: '1000',
      DRIVER_FRAME_BURST: '10000',
    },
  });
  children.push(npm);
  let output = '';
  npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    npm.once('exit', (code, signal) => resolve({ code, signal })),
  );
  await expect.poll(() => output, { timeout: 60_000, interval: 100 }).toContain('dispatch hub ready');

  const drivers = ids.map((id) => new RecordingDriver(id));
  await connectAll(drivers, `ws://127.0.0.1:${port}`);
  const loops = [busyLoop(), busyLoop()];
  const streaming = setInterval(() => {
    for (const driver of drivers) driver.sendNext();
  }, TICK_MS);
  try {
    // Streaming for real before the signal: every driver has had frames acked.
    await waitUntil(
      () => drivers.every((driver) => driver.lastAck >= 5),
      30_000,
      'five acked frames from every driver',
      () => describeLagging(drivers),
    );
    const sentBeforeSignal = drivers.map((driver) => driver.lastSent);
    process.kill(-npm.pid!, 'SIGINT');
    // Drivers go on streaming until the hub closes them, as real ones would.
    const exit = await exited;
    expect(exit, output.slice(-3000)).toEqual({ code: 0, signal: null });
    const unackedBeforeSignal = drivers.filter((driver, i) => driver.lastAck < sentBeforeSignal[i]!).map((driver) => driver.id);
    expect(unackedBeforeSignal).toEqual([]);
  } finally {
    clearInterval(streaming);
    for (const loop of loops) loop.kill('SIGKILL');
  }
  expect(output).toMatch(/"drained":true,"msg":"hub stopped"/);
  // The hub's last act is the 1001 close; on a loaded machine this process may read it after the exit event.
  await expect.poll(() => drivers.filter((driver) => driver.closes.at(-1)?.code !== 1001).map((driver) => driver.id), { timeout: 10_000 }).toEqual([]);
  const report = await checkDelivery(db.url, drivers);
  expect(report.violations).toEqual([]);
}, 150_000);
