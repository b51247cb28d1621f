import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { startHub, type Hub } from '../src/hub.ts';
import { createLogger } from '../src/logger.ts';
import { DEFAULT_MOVEMENT, runSimulation, type SimulationOptions } from '../clients/sim/index.ts';
import { loadDemoAssets } from '../src/transport/demo-assets.ts';
import { CHROMIUM, hasChromium, launchChromium, watchPageProblems } from './support/browser.ts';

const SCREENSHOT = fileURLToPath(new URL('../test-artifacts/demo.png', import.meta.url));
const RIDE_SCREENSHOT = fileURLToPath(new URL('../test-artifacts/demo-ride.png', import.meta.url));
const DRIVERS = 150;
/** Frequent fixes so a driver crosses whole pixels between two samples a few seconds apart. */
const INTERVAL_MS = 500;
const title = hasChromium ? 'browser map demo' : `browser map demo (skipped: ${CHROMIUM} is missing; apt-get install chromium)`;

interface DemoWorld {
  hub: Hub;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * An embedded hub serving the map page, seeded with exactly the drivers the
 * simulation moves (so every dot on the map moves), the simulation, and
 * Chromium. An explicit environment, not process.env: the demo must run
 * embedded even where the shell exports DATABASE_URL and REDIS_URL for other
 * tests.
 */
async function startDemoWorld(name: string, drivers: number, simulationOptions: Partial<SimulationOptions> = {}): Promise<DemoWorld> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `${name}-`));
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    EMBEDDED_SEED_DRIVERS: String(drivers),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  const hub = await startHub(config, { logger: createLogger(config.LOG_LEVEL, { test: name }), assets: await loadDemoAssets() });
  const simulation = runSimulation({
    hubUrl: `ws://127.0.0.1:${hub.port}`,
    drivers,
    intervalMs: INTERVAL_MS,
    rampMs: INTERVAL_MS,
    offline: null,
    drainMs: 500,
    seed: name,
    ...simulationOptions,
  });
  const browser = await launchChromium();
  return {
    hub,
    browser,
    async close() {
      await browser.close();
      await simulation.stop();
      await hub.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

describe.skipIf(!hasChromium)(title, () => {
  let world: DemoWorld | undefined;

  beforeAll(async () => {
    world = await startDemoWorld('demo-browser', DRIVERS);
  });

  afterAll(() => world?.close());

  it('shows the fleet moving and ranks the nearest drivers for a clicked rider', async () => {
    const page = await world!.browser.newPage({ viewport: { width: 1440, height: 900 } });
    const problems = watchPageProblems(page);

    // What the page sends on its rider socket: live subscriptions, never polled queries.
    const sentTypes = new Set<string>();
    page.on('websocket', (socket) =>
      socket.on('framesent', (frame) => {
        if (typeof frame.payload === 'string') sentTypes.add(String((JSON.parse(frame.payload) as { t?: unknown }).t));
      }),
    );
    await page.goto(`http://127.0.0.1:${world!.hub.port}/?zoom=15`);
    await page.locator('#status-connection[data-state="live"]').waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('path.driver-dot').length >= 10, null, {
      timeout: 15_000,
    });
    // The first fixes move drivers from their seeded spots onto the street grid, which is
    // not yet driving: the fleet moves when dots that already had their first fix move again.
    const seeded = await dotPositions(page);
    let before = seeded;
    const movedSince = (from: Map<string, string>, to: Map<string, string>) => [...to.keys()].filter((id) => from.has(id) && from.get(id) !== to.get(id));
    await expect
      .poll(async () => movedSince(seeded, (before = await dotPositions(page))).length, {
        timeout: 15_000,
        interval: 100,
        message: 'most dots had their first fix',
      })
      .toBeGreaterThanOrEqual(Math.ceil(seeded.size / 2));
    const fixed = new Set(movedSince(seeded, before));
    let after = before;
    await expect
      .poll(async () => movedSince(before, (after = await dotPositions(page))).filter((id) => fixed.has(id)).length, {
        timeout: 15_000,
        interval: 100,
        message: 'a dot moves again after its first fix',
      })
      .toBeGreaterThan(0);
    expect(after.size).toBeGreaterThanOrEqual(10);

    const map = await page.locator('#map').boundingBox();
    await page.mouse.click(map!.x + map!.width / 2, map!.y + map!.height / 2);
    await page.locator('.driver-row').first().waitFor({ timeout: 10_000 });
    // One read of the whole list: it is re-rendered every second.
    const ranked = await page.$$eval('.driver-row', (rows) =>
      rows.map((row) => ({
        distanceKm: Number((row as HTMLElement).dataset.distanceKm),
        name: row.querySelector('.name')?.textContent ?? '',
        vehicle: row.querySelector('.vehicle')?.textContent ?? '',
        rating: row.querySelector('.rating')?.textContent ?? '',
      })),
    );
    expect(ranked.length).toBeGreaterThan(0);
    const distances = ranked.map((row) => row.distanceKm);
    expect(distances.every(Number.isFinite)).toBe(true);
    expect(distances).toEqual([...distances].sort((a, b) => a - b));
    for (const row of ranked) {
      expect(row.name).not.toBe('');
      expect(row.vehicle).not.toBe('');
      expect(row.rating).toMatch(/★ \d\.\d/);
    }
    await expect.poll(() => page.locator('.rank-badge').count()).toBe(ranked.length);
    await expect.poll(() => page.locator('#metric-source').textContent()).toBe('memory');
    // Stats are polled every 2 s, so a busy machine may take a few polls to fill them.
    await expect.poll(() => page.locator('#stat-online').textContent(), { timeout: 15_000 }).toMatch(/^[\d,]+$/);

    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    expect(problems).toEqual([]);
    expect(sentTypes).toContain('subscribe');
    expect(sentTypes).not.toContain('nearby');
  });
});

/**
 * One whole ride from the map: a small, quick fleet of its own whose drivers
 * accept at once, and rides without a dropoff kept short, so the ride fits
 * in a test while the car still visibly approaches.
 */
describe.skipIf(!hasChromium)(hasChromium ? 'browser ride demo' : `browser ride demo (skipped: ${CHROMIUM} is missing)`, () => {
  const RIDE_DRIVERS = 40;
  let world: DemoWorld | undefined;

  beforeAll(async () => {
    world = await startDemoWorld('ride-browser', RIDE_DRIVERS, {
      // A 3 km square around the map's centre, cars at 300 km/h: about 40 m per fix.
      grid: { halfWidthM: 1500, halfHeightM: 1500 },
      movement: { ...DEFAULT_MOVEMENT, avenueSpeedKmh: [300, 320], streetSpeedKmh: [300, 320], redLightProbability: 0, stopProbability: 0 },
      driverRides: { acceptProbability: 1, answerDelayMs: [200, 500], boardingMs: [500, 1000], tripWithoutDropoffM: [200, 400] },
    });
  });

  afterAll(() => world?.close());

  it('asks for a ride with a click and follows the car to the pickup and the ride to its end', async () => {
    const page = await world!.browser.newPage({ viewport: { width: 1440, height: 900 } });
    const problems = watchPageProblems(page);
    await page.goto(`http://127.0.0.1:${world!.hub.port}/?zoom=15`);
    await page.locator('#status-connection[data-state="live"]').waitFor({ timeout: 15_000 });
    await page.waitForFunction(() => document.querySelectorAll('path.driver-dot').length >= 10, null, { timeout: 15_000 });
    expect(await page.locator('#ride-request').isDisabled()).toBe(true);

    const map = await page.locator('#map').boundingBox();
    await page.mouse.click(map!.x + map!.width / 2, map!.y + map!.height / 2);
    await page.locator('#ride-request:not([disabled])').click();
    await page.locator('body[data-ride="requested"], body[data-ride="assigned"]').waitFor({ timeout: 10_000 });

    // A driver accepted: its car is on the map with a line to the pickup, and it comes closer.
    await page.locator('body[data-ride="assigned"]').waitFor({ timeout: 15_000 });
    await expect.poll(() => page.locator('.ride-car').count()).toBe(1);
    const status = await page.locator('#ride-status').textContent();
    expect(status).toMatch(/^Your driver is (\d+ m|[\d.]+ km) away$|^Your driver is coming$/);
    expect(await page.locator('#ride-detail strong').textContent()).not.toBe('');
    await mkdir(path.dirname(RIDE_SCREENSHOT), { recursive: true });
    await page.screenshot({ path: RIDE_SCREENSHOT });
    const carPositions = new Set<string>();
    const watchCar = setInterval(() => {
      void page
        .locator('.ride-car')
        .evaluate((car) => (car as HTMLElement).style.transform)
        .then(
          (transform) => carPositions.add(transform),
          () => undefined,
        );
    }, 100);
    try {
      await page.locator('body[data-ride="arrived"], body[data-ride="started"], body[data-ride="completed"]').waitFor({ timeout: 30_000 });
    } finally {
      clearInterval(watchCar);
    }
    expect(carPositions.size).toBeGreaterThan(1);
    await page.locator('body[data-ride="completed"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#ride-status').textContent()).toBe('You have arrived');
    await expect.poll(() => page.locator('.ride-car').count()).toBe(0);

    // The hub holds the same story, every step stamped.
    const rideId = await page.evaluate(() => document.body.dataset.rideId);
    const ride = await world!.hub.store.rides.getRide(rideId!);
    expect(ride).toMatchObject({ status: 'completed' });
    for (const stamp of [ride!.assignedAt, ride!.arrivedAt, ride!.startedAt, ride!.completedAt]) expect(stamp).not.toBeNull();
    await page.locator('#ride-again').click();
    expect(await page.locator('#ride-request').isEnabled()).toBe(true);
    expect(problems).toEqual([]);
  });
});

/** Each driver dot's SVG path by driver id: the path changes when the driver moves on screen. */
async function dotPositions(page: Page): Promise<Map<string, string>> {
  const entries = await page.$$eval('path.driver-dot', (paths) =>
    paths.map((dot) => [dot.getAttribute('data-driver-id') ?? '', dot.getAttribute('d') ?? ''] as const),
  );
  return new Map(entries);
}
