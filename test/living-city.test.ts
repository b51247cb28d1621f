import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { TIMES_SQUARE } from '../src/seed/fleet.ts';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { HubProcess } from '../tools/testkit/hub-process.ts';
import { connectSteadily } from './support/steady-connect.ts';

/** The measure: the seeded fleet went stale after STALE_AFTER_MS (30 s) and the map emptied. Twice that. */
const ALIVE_AFTER_MS = 60_000;
const MIN_MOVING = 5;

interface Seen {
  id: number;
  lat: number;
  lng: number;
}

let hub: HubProcess | undefined;
let dataDir: string | undefined;
afterAll(async () => {
  await hub?.kill();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function restNearby(): Promise<Seen[]> {
  const response = await fetch(hub!.httpUrl(`/api/drivers/nearby?lat=${TIMES_SQUARE.lat}&lng=${TIMES_SQUARE.lng}&radius=10&limit=50`));
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Seen[] }).data;
}

/** Drivers of `later` found in `earlier` at another position. */
function moved(earlier: Seen[], later: Seen[]): number {
  const before = new Map(earlier.map((driver) => [driver.id, driver]));
  return later.filter((driver) => {
    const was = before.get(driver.id);
    return was !== undefined && (was.lat !== driver.lat || was.lng !== driver.lng);
  }).length;
}

it(
  'npm start in embedded mode still answers nearby with moving drivers a minute after start, over REST and WebSocket',
  async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'living-city-'));
    // Defaults but the place and the size: a smaller fleet keeps a shared machine's load down.
    hub = await HubProcess.start({
      env: { DATA_DIR: dataDir, EMBEDDED_SEED_DRIVERS: '300', LOG_LEVEL: 'warn' },
      label: 'living-city',
      readyTimeoutMs: 180_000,
    });
    const startedAt = Date.now();
    await expect.poll(() => hub!.output(), { timeout: 10_000 }).toContain('with 300 simulated drivers moving');
    expect(hub.output()).toContain(
      `dispatch hub ready: map http://localhost:${hub.port}/ · drivers ws://localhost:${hub.port}/ws/driver · riders ws://localhost:${hub.port}/ws/rider · embedded PGlite in ${dataDir} with 300 simulated drivers moving`,
    );

    // The behaviour under test is a duration: what the hub answers once STALE_AFTER_MS has long passed.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, ALIVE_AFTER_MS - (Date.now() - startedAt))));

    const first = await restNearby();
    expect(first.length).toBeGreaterThanOrEqual(MIN_MOVING);
    await expect.poll(async () => moved(first, await restNearby()), { timeout: 15_000, interval: 500 }).toBeGreaterThanOrEqual(MIN_MOVING);

    const rider = await connectSteadily(hub.wsUrl('/ws/rider'));
    try {
      const ask = async (id: string) => {
        rider.send({ t: 'nearby', id, lat: TIMES_SQUARE.lat, lng: TIMES_SQUARE.lng, radiusKm: 10, limit: 50 });
        return (await rider.waitFor<NearbyResultMessage>((message) => message.t === 'nearby.result' && message.id === id, 10_000)).drivers;
      };
      const earlier = await ask('a');
      expect(earlier.length).toBeGreaterThanOrEqual(MIN_MOVING);
      let round = 0;
      await expect.poll(async () => moved(earlier, await ask(`b${round++}`)), { timeout: 15_000, interval: 500 }).toBeGreaterThanOrEqual(MIN_MOVING);
    } finally {
      rider.socket.close();
    }
    const stats = (await (await fetch(hub.httpUrl('/api/stats'))).json()) as { driversOnline: number; connections: { drivers: number } };
    expect(stats.connections.drivers).toBeGreaterThanOrEqual(MIN_MOVING);
  },
  // A first embedded start (PGlite's initdb, migrations, the seed) took 37 s at a load average of 21
  // here: up to 180 s for it, then the minute and two polls of 15 s.
  300_000,
);
