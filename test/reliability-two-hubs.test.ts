import { afterAll, beforeAll, expect, it } from 'vitest';
import { checkDelivery } from './support/delivery-check.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import { indexDifferences } from './support/index-check.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { connectAll, describeLagging, RecordingDriver, waitUntil } from './support/recording-driver.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';
import { createSeededDatabase } from './support/seeded-database.ts';

const STALE_AFTER_MS = 600_000;
const TICK_MS = 50;

let db: PrivateDatabase;
let ids: number[];
let hubs: [HubProcess, HubProcess];
const prefix = uniquePrefix('two-hubs');

beforeAll(async () => {
  ({ db, ids } = await createSeededDatabase(60));
  const env = {
    DATABASE_URL: db.url,
    REDIS_URL: SHARED_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    STALE_AFTER_MS: String(STALE_AFTER_MS),
    DRIVER_FRAMES_PER_S: '1000',
    DRIVER_FRAME_BURST: '10000',
    // Hubs that know nothing of each other (the bus off, or cut off from Redis): the database alone must keep
    // every frame exactly once, even for one driver on both at once. With the bus on, the second socket would
    // take over (4001); test/scale-out.test.ts covers hubs that do know of each other.
    HUB_BUS: 'false',
  };
  hubs = await Promise.all([startHubProcess(env, 'hub-a'), startHubProcess(env, 'hub-b')]);
});
afterAll(async () => {
  await Promise.all((hubs ?? []).map(killHubProcess));
  await Promise.allSettled([db.drop(), dropPrefix(prefix)]);
});

const urlOf = (hub: HubProcess) => `ws://127.0.0.1:${hub.port}`;

/** Every driver sends its next frame each TICK_MS; `afterTick` resolves just after the next tick's frames went out. */
function stream(drivers: RecordingDriver[]): { stop(): void; afterTick(): Promise<void> } {
  let waiting: Array<() => void> = [];
  const timer = setInterval(() => {
    for (const driver of drivers) driver.sendNext();
    const wake = waiting;
    waiting = [];
    for (const resolve of wake) resolve();
  }, TICK_MS);
  return { stop: () => clearInterval(timer), afterTick: () => new Promise((resolve) => waiting.push(resolve)) };
}

/** Resolves once every driver has had `frames` more frames acked than it has sent now: streaming through its current hub. */
function streamedThrough(drivers: RecordingDriver[], frames: number): Promise<void> {
  const sentNow = drivers.map((driver) => driver.lastSent);
  return waitUntil(
    () => drivers.every((driver, i) => driver.lastAck >= sentNow[i]! + frames),
    15_000,
    `${frames} new acks for every driver`,
    () => describeLagging(drivers),
  );
}

it('drivers hopping between two hubs mid-stream, frames in flight, resume exactly where the database says', async () => {
  const drivers = ids.slice(0, 40).map((id) => new RecordingDriver(id));
  // Half start on each hub; every hop sends each driver to the other one.
  const hubOf = drivers.map((_driver, i) => i % 2);
  await Promise.all([
    connectAll(
      drivers.filter((_d, i) => hubOf[i] === 0),
      urlOf(hubs[0]),
    ),
    connectAll(
      drivers.filter((_d, i) => hubOf[i] === 1),
      urlOf(hubs[1]),
    ),
  ]);
  const streaming = stream(drivers);
  let inFlightAtHops = 0;
  const helloBelowAck: string[] = [];
  for (let hop = 0; hop < 3; hop++) {
    await streamedThrough(drivers, 5);
    // Right after a tick, so that tick's frames are on their way.
    await streaming.afterTick();
    // Dropped without a goodbye, frames still unacked: the other hub must pick up from PostgreSQL's last_seq.
    inFlightAtHops += drivers.reduce((sum, driver) => sum + driver.unacked, 0);
    for (const driver of drivers) driver.terminate();
    await waitUntil(() => drivers.every((driver) => !driver.connected), 5000, 'the sockets to drop');
    await Promise.all(
      drivers.map(async (driver, i) => {
        hubOf[i] = 1 - hubOf[i]!;
        const ackedBefore = driver.lastAck;
        const hello = await driver.connect(urlOf(hubs[hubOf[i] as 0 | 1]));
        if (hello < ackedBefore) helloBelowAck.push(`driver ${driver.id}: hello ${hello} after ack ${ackedBefore}`);
      }),
    );
  }
  await streamedThrough(drivers, 5);
  streaming.stop();
  await waitUntil(
    () => drivers.every((driver) => driver.lastAck === driver.lastSent),
    15_000,
    'every frame to be acked',
    () => describeLagging(drivers),
  );

  // Each hello was at least the last ack the driver had seen from the other hub.
  expect(helloBelowAck).toEqual([]);
  const report = await checkDelivery(db.url, drivers);
  expect(report.violations).toEqual([]);
  expect(report.rows).toBe(drivers.reduce((sum, driver) => sum + driver.lastSent, 0));
  expect(inFlightAtHops).toBeGreaterThan(0);
  await expect.poll(() => indexDifferences(SHARED_REDIS_URL, prefix, db.url, STALE_AFTER_MS), { timeout: 5000 }).toEqual([]);
  for (const driver of drivers) driver.close();
});

it('one driver connected to both hubs at once, sending every frame to each, is still written exactly once', async () => {
  const id = ids[50]!;
  const viaA = new RecordingDriver(id);
  const viaB = new RecordingDriver(id);
  await viaA.connect(urlOf(hubs[0]));
  await viaB.connect(urlOf(hubs[1]));
  for (let seq = 0; seq < 100; seq++) {
    viaA.sendNext();
    viaB.sendNext();
    // Paced on purpose: ten frames at a time, so each hub writes several batches that race the other's.
    if (seq % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await waitUntil(
    () => viaA.lastAck === 100 && viaB.lastAck === 100,
    10_000,
    'both hubs to ack',
    () => describeLagging([viaA, viaB]),
  );
  const report = await checkDelivery(db.url, [viaA]);
  expect(report.violations).toEqual([]);
  expect(report.rows).toBe(100);
  viaA.close();
  viaB.close();
});
