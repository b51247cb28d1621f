import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { HubProcess } from '../tools/testkit/hub-process.ts';
import { startPrivateRedis, type PrivateRedis } from '../tools/testkit/private-redis.ts';
import { connectAll, describeLagging, RecordingDriver, waitUntil } from './support/recording-driver.ts';
import { runEntry, STACK_LINE } from './support/run-entry.ts';
import { createSeededDatabase } from './support/seeded-database.ts';

const DRIVERS = 40;
const TICK_MS = 100;
/** Each wait below gives up well before the runner's own timeout, so a failure names what it waited for. */
const WAIT_MS = 30_000;

let db: PrivateDatabase;
let ids: number[];
let redis: PrivateRedis;
let hub: HubProcess;

beforeAll(async () => {
  [{ db, ids }, redis] = await Promise.all([createSeededDatabase(DRIVERS), startPrivateRedis()]);
  hub = await HubProcess.start({
    label: 'supervisor',
    env: {
      HUB_WORKERS: '2',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'info',
      STALE_AFTER_MS: '600000',
      DRIVER_FRAMES_PER_S: '1000',
      DRIVER_FRAME_BURST: '10000',
    },
  });
  // /healthz answers as soon as one worker listens; the supervisor's banner says when both do.
  // (Its banner is on stderr, its log line on stdout: the two pipes are read in no fixed order.)
  await waitUntil(
    () => hub.output().includes('every worker serves') && hub.output().includes('2 hub processes share the port'),
    WAIT_MS,
    'both workers serving',
    () => hub.output(),
  );
}, 120_000);
afterAll(async () => {
  await hub?.kill();
  await Promise.allSettled([db?.drop(), redis?.stop()]);
});

/** The pid of the process that answers /healthz on a connection of its own (no keep-alive: the kernel picks a worker per connection). */
function answeringPid(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => {
        if (response.statusCode === 200) resolve((JSON.parse(body) as { pid: number }).pid);
        else reject(new Error(`/healthz answered ${response.statusCode}`));
      });
    });
    request.once('error', reject);
  });
}

/** Asks on fresh connections until `count` different pids have answered, or the deadline passes. */
async function answeringPids(port: number, count: number, exclude: number[] = []): Promise<Set<number>> {
  const seen = new Set<number>();
  const deadline = Date.now() + WAIT_MS;
  while (seen.size < count && Date.now() < deadline) {
    const pid = await answeringPid(port).catch(() => undefined);
    if (pid !== undefined && !exclude.includes(pid)) seen.add(pid);
  }
  return seen;
}

function parentOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let workerPids: number[] = [];

it('HUB_WORKERS=2: both workers, children of the supervisor, serve the one port', async () => {
  expect(hub.output()).toContain('2 hub processes share the port');
  workerPids = [...(await answeringPids(hub.port, 2))];
  expect(workerPids, hub.output()).toHaveLength(2);
  for (const pid of workerPids) expect(parentOf(pid)).toBe(hub.pid);
  // Drivers on both workers write to the same stores: every one is acked.
  const drivers = ids.slice(0, 10).map((id) => new RecordingDriver(id));
  await connectAll(drivers, hub.wsUrl(''));
  for (const driver of drivers) driver.sendNext();
  await waitUntil(
    () => drivers.every((driver) => driver.lastAck >= 1),
    WAIT_MS,
    'a first ack for every driver',
    () => describeLagging(drivers),
  );
  for (const driver of drivers) driver.close();
});

it('a SIGKILLed worker is logged and restarted, and the port keeps answering meanwhile', async () => {
  expect(workerPids).toHaveLength(2);
  const [victim, survivor] = workerPids as [number, number];
  process.kill(victim, 'SIGKILL');
  await expect
    .poll(() => hub.output(), { timeout: WAIT_MS, interval: 50 })
    .toMatch(new RegExp(`"pid":${victim},"code":null,"signal":"SIGKILL".*"msg":"worker exited; restarting it"`));
  // The port answers with the dead worker gone: the survivor (or, on a quick restart, its replacement) takes the connection.
  expect(await answeringPid(hub.port)).not.toBe(victim);
  await expect.poll(() => hub.output(), { timeout: WAIT_MS, interval: 100 }).toMatch(/"msg":"worker restarted"/);
  const replacement = [...(await answeringPids(hub.port, 1, [survivor]))];
  expect(replacement, hub.output()).toHaveLength(1);
  expect(replacement[0]).not.toBe(victim);
  expect(parentOf(replacement[0]!)).toBe(hub.pid);
  workerPids = [survivor, replacement[0]!];
}, 90_000);

it('SIGTERM to the supervisor drains every worker: frames sent before it are acked, all exit 0', async () => {
  expect(workerPids).toHaveLength(2);
  const drivers = ids.map((id) => new RecordingDriver(id));
  await connectAll(drivers, hub.wsUrl(''));
  const streaming = setInterval(() => {
    for (const driver of drivers) driver.sendNext();
  }, TICK_MS);
  try {
    await waitUntil(
      () => drivers.every((driver) => driver.lastAck >= 3),
      WAIT_MS,
      'three acked frames from every driver',
      () => describeLagging(drivers),
    );
    const sentBeforeSignal = drivers.map((driver) => driver.lastSent);
    hub.signal('SIGTERM');
    // A second signal, as an impatient operator sends: it must not cut the drain short.
    hub.signal('SIGTERM');
    const exit = await hub.exited;
    expect(exit, hub.output()).toMatchObject({ code: 0, signal: null });
    expect(drivers.filter((driver, i) => driver.lastAck < sentBeforeSignal[i]!).map((driver) => driver.id)).toEqual([]);
  } finally {
    clearInterval(streaming);
  }
  for (const pid of workerPids) expect(running(pid)).toBe(false);
  // The last log lines may reach this process's pipe just after the exit event.
  const stoppedCleanly = workerPids.map((pid) => new RegExp(`"pid":${pid},"code":0,"signal":null,"msg":"worker stopped"`));
  await waitUntil(
    () => stoppedCleanly.every((line) => line.test(hub.output())) && hub.output().match(/"drained":true,"msg":"hub stopped"/g)?.length === 2,
    WAIT_MS,
    'each worker logged as drained and stopped with code 0',
    () => hub.output(),
  );
}, 90_000);

it('workers whose supervisor is SIGKILLed drain and exit on their own: no orphan keeps the port', async () => {
  const orphaned = await HubProcess.start({
    label: 'supervisor to kill',
    env: { HUB_WORKERS: '2', DATABASE_URL: db.url, REDIS_URL: redis.url, LOG_LEVEL: 'info' },
  });
  try {
    await waitUntil(
      () => orphaned.output().includes('every worker serves'),
      WAIT_MS,
      'both workers serving',
      () => orphaned.output(),
    );
    const pids = [...(await answeringPids(orphaned.port, 2))];
    expect(pids, orphaned.output()).toHaveLength(2);
    await orphaned.kill();
    await waitUntil(
      () => pids.every((pid) => !running(pid)),
      WAIT_MS,
      'both workers gone',
      () => orphaned.output(),
    );
    // Their last log lines may reach this process's pipe just after they are gone.
    await waitUntil(
      () => orphaned.output().match(/"drained":true,"msg":"hub stopped"/g)?.length === 2,
      WAIT_MS,
      'both workers logging a drained stop',
      () => orphaned.output(),
    );
  } finally {
    await orphaned.kill();
  }
}, 90_000);

it('HUB_WORKERS=2 without DATABASE_URL is refused in one line: the embedded database belongs to one process', async () => {
  const result = await runEntry('src/main.ts', [], { env: { HUB_WORKERS: '2', LOG_LEVEL: 'silent' }, timeoutMs: WAIT_MS });
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^HUB_WORKERS=2 needs DATABASE_URL: the embedded database \(PGlite\)/)]);
  expect(result.stderr).not.toMatch(STACK_LINE);
});

it('HUB_WORKERS=2 with HUB_BUS=false is refused in one line: pushes and offers would not cross workers', async () => {
  const result = await runEntry('src/main.ts', [], {
    env: { HUB_WORKERS: '2', HUB_BUS: 'false', DATABASE_URL: db.url, REDIS_URL: redis.url, LOG_LEVEL: 'silent' },
    timeoutMs: WAIT_MS,
  });
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^HUB_WORKERS=2 needs the bus: with HUB_BUS=false/)]);
});
