import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation, type Simulation } from '../clients/sim/index.ts';
import { signToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { startHub, type Hub } from '../src/hub.ts';
import { createLogger } from '../src/logger.ts';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { generateFleet, TIMES_SQUARE } from '../src/seed/fleet.ts';
import { loadDemoAssets } from '../src/transport/demo-assets.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { hasChromium, launchChromium } from './support/browser.ts';
import { TEST_AUTH_SECRET } from './support/tokens.ts';
import { connectSteadily } from './support/steady-connect.ts';

const DRIVERS = 30;

/**
 * Two hubs with AUTH_SECRET and the demo page on one PostgreSQL database (a
 * fast start; the in-process geo index each), one with DEMO_RIDER_TOKENS;
 * a small fleet, signing its own tokens, streams to the first.
 */
describe('demo rider tokens (DEMO_RIDER_TOKENS)', () => {
  let db: PrivateDatabase;
  const hubs: Hub[] = [];
  let simulation: Simulation | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    db = await createPrivateDatabase({ prefix: 'demo_tokens' });
    const assets = await loadDemoAssets();
    for (const demoRiderTokens of [true, false]) {
      const config = loadConfig({
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: '0',
        DATABASE_URL: db.url,
        AUTH_SECRET: TEST_AUTH_SECRET,
        DEMO_RIDER_TOKENS: String(demoRiderTokens),
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      });
      hubs.push(await startHub(config, { logger: createLogger(config.LOG_LEVEL, { test: 'demo-rider-tokens' }), assets }));
    }
    const ids = await hubs[0]!.store.insertDrivers([...generateFleet({ count: DRIVERS, seed: 4, center: TIMES_SQUARE, radiusKm: 3, onlineShare: 1 })]);
    simulation = runSimulation({
      hubUrl: `ws://127.0.0.1:${hubs[0]!.port}`,
      drivers: DRIVERS,
      firstDriverId: ids[0]!,
      intervalMs: 1000,
      offline: null,
      drainMs: 0,
      seed: 'demo-rider-tokens',
      tokenProvider: (subject) => signToken({ role: 'driver', subject: subject.role === 'driver' ? subject.driverId : 1, ttl: '1h', secret: TEST_AUTH_SECRET }),
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await simulation?.stop();
    for (const hub of hubs) await hub.close();
    await db?.drop();
  });

  it('hands out a short-lived rider token that opens /ws/rider, only when the setting is on', async () => {
    const [withTokens, without] = hubs;
    const response = await fetch(`http://127.0.0.1:${withTokens!.port}/api/demo/rider-token`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const { token, expiresInS } = (await response.json()) as { token: string; expiresInS: number };
    expect(expiresInS).toBe(900);
    const rider = await connectSteadily(`ws://127.0.0.1:${withTokens!.port}/ws/rider?token=${token}`);
    try {
      rider.send({ t: 'nearby', id: 'q1', lat: 40.7589, lng: -73.9851, radiusKm: 5, limit: 5 });
      await rider.waitFor<NearbyResultMessage>((message) => message.t === 'nearby.result' && message.id === 'q1');
    } finally {
      rider.socket.close();
    }
    const refused = await fetch(`http://127.0.0.1:${without!.port}/api/demo/rider-token`);
    expect(refused.status).toBe(204);
    expect(await refused.text()).toBe('');
  });

  it.skipIf(!hasChromium)(
    'lets the map page connect to a hub with AUTH_SECRET, and only through the setting',
    async () => {
      browser = await launchChromium();
      const [withTokens, without] = hubs;
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${withTokens!.port}/?zoom=14`);
      await page.locator('#status-connection[data-state="live"]').waitFor({ timeout: 20_000 });
      await page.waitForFunction(() => document.querySelectorAll('path.driver-dot').length >= 5, null, { timeout: 20_000 });

      const refused = await browser.newPage();
      await refused.goto(`http://127.0.0.1:${without!.port}/`);
      await refused.locator('#status-connection[data-state="reconnecting"]').waitFor({ timeout: 20_000 });
      expect(await refused.locator('path.driver-dot').count()).toBe(0);
    },
    60_000,
  );
});
