import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../src/auth/tokens.ts';
import { restErrorSchema, trackResponseSchema } from '../src/protocol/rest.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { anyString } from './support/matchers.ts';
import { AUTH_ENV, driverToken, riderToken, TEST_AUTH_SECRET } from './support/tokens.ts';
import { connectSteadily } from './support/steady-connect.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

let testHub: TestHub;
let driverId: number;
let operator: string;
/** The next UTC midnight: frames are dated on both sides of it, so they fall in two partitions. */
let midnight: number;
/** One frame every 30 s from an hour before midnight to an hour after: 240 frames. */
const FRAMES = 240;
const frameTime = (seq: number) => midnight - HOUR_MS + (seq - 1) * 30_000;

/** A track page, checked against the protocol's response schema. */
const trackPage = async (response: Response) => trackResponseSchema.parse(await response.json());

/** A track request; an empty token sends no Authorization header. */
function track(query: string, token = operator, id = driverId): Promise<Response> {
  return fetch(testHub.httpUrl(`/api/drivers/${id}/track?${query}`), { headers: token ? { authorization: `Bearer ${token}` } : {} });
}

beforeAll(async () => {
  // Statement timeout well under the test's deadline: a read stuck on a lock fails fast instead of hanging.
  testHub = await startTestHub('track', { ...AUTH_ENV, PG_STATEMENT_TIMEOUT_MS: '3000' });
  driverId = (await seedFleet(testHub, 1))[0]!;
  operator = await signToken({ role: 'operator', subject: 'ops-1', ttl: '1h', secret: TEST_AUTH_SECRET });
  midnight = Math.ceil(Date.now() / DAY_MS) * DAY_MS;
  const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?token=${await driverToken(driverId!)}`));
  await driver.waitFor((m) => m.t === 'hello');
  for (let seq = 1; seq <= FRAMES; seq++) driver.send({ t: 'loc', seq, lat: 40.7 + seq * 1e-4, lng: -73.98, ts: frameTime(seq) }, 'msgpack');
  await driver.waitFor((m) => m.t === 'ack' && (m as { seq: number }).seq === FRAMES);
  driver.close();
});
afterAll(() => testHub.close());

describe('GET /api/drivers/:id/track', () => {
  it('returns the window oldest first, a page at a time, with nothing skipped or repeated across pages and partitions', async () => {
    const from = new Date(midnight - 45 * 60_000).toISOString();
    const to = new Date(midnight + 45 * 60_000).toISOString();
    const seen: number[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const response = await track(`from=${from}&to=${to}&limit=50${after ? `&after=${after}` : ''}`);
      expect(response.status).toBe(200);
      const body = await trackPage(response);
      expect(body.data.positions.length).toBeLessThanOrEqual(50);
      seen.push(...body.data.positions.map((p) => p.seq));
      after = body.data.next;
      pages++;
    } while (after !== null && pages < 20);
    // Frames 31..210 are inside [midnight - 45 min, midnight + 45 min).
    expect(seen).toEqual(Array.from({ length: 180 }, (_, i) => 31 + i));
    expect(pages).toBe(4);
  });

  it('dates each position by its frame and returns what was sent', async () => {
    const response = await track(`from=${midnight - HOUR_MS}&to=${midnight - HOUR_MS + 60_000}`);
    const body = await trackPage(response);
    expect(body.data.positions).toEqual([
      { seq: 1, lat: 40.7 + 1e-4, lng: -73.98, recordedAt: new Date(frameTime(1)).toISOString(), receivedAt: anyString() },
      { seq: 2, lat: 40.7 + 2e-4, lng: -73.98, recordedAt: new Date(frameTime(2)).toISOString(), receivedAt: anyString() },
    ]);
    expect(body.data.next).toBeNull();
  });

  it('reads only the partitions its window overlaps: a locked partition elsewhere does not hold it up', async () => {
    const tomorrow = `driver_locations_p${new Date(midnight).toISOString().slice(0, 10).replaceAll('-', '')}`;
    const locker = new pg.Client({ connectionString: testHub.db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${tomorrow} IN ACCESS EXCLUSIVE MODE`);
      const before = await track(`from=${midnight - HOUR_MS}&to=${midnight}`);
      expect(before.status).toBe(200);
      expect((await trackPage(before)).data.positions).toHaveLength(120);
      // The control: a window reaching past midnight needs the locked partition and waits for it.
      const across = track(`from=${midnight - HOUR_MS}&to=${midnight + 60_000}`);
      let answered = false;
      void across.then(
        () => (answered = true),
        () => (answered = true),
      );
      const readsWaitingOnLock = async () => {
        const { rows } = await locker.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dispatch-hub' AND wait_event_type = 'Lock'`,
        );
        return rows[0]!.n;
      };
      await expect.poll(readsWaitingOnLock, { timeout: 10_000, interval: 20, message: 'the track read waits on the locked partition' }).toBe(1);
      expect(answered).toBe(false);
      await locker.query('ROLLBACK');
      const body = await trackPage(await across);
      expect(body.data.positions).toHaveLength(122);
    } finally {
      await locker.end();
    }
  });

  it('is an operator read: 401 without a token, 403 for a driver or rider token', async () => {
    const window = `from=${midnight - HOUR_MS}&to=${midnight}`;
    expect((await track(window, '')).status).toBe(401);
    expect((await track(window, 'not-a-token')).status).toBe(401);
    expect((await track(window, await driverToken(driverId))).status).toBe(403);
    expect((await track(window, await riderToken('r1'))).status).toBe(403);
  });

  it.each([
    ['a window over a day', `from=0&to=${DAY_MS + 1}`, 'out_of_range'],
    ['to before from', 'from=2000&to=1000', 'invalid_field'],
    ['a missing to', 'from=1000', 'invalid_field'],
    ['a time without a zone', 'from=2026-01-01T00:00:00&to=2026-01-01T01:00:00', 'invalid_field'],
    ['a limit over the maximum', 'from=0&to=1000&limit=5001', 'out_of_range'],
    ['a made-up cursor', 'from=0&to=1000&after=abc', 'invalid_field'],
  ])('answers 400 for %s', async (_name, query, code) => {
    const response = await track(query);
    expect(response.status).toBe(400);
    expect(restErrorSchema.parse(await response.json()).code).toBe(code);
  });

  it('answers 404 for an unknown driver', async () => {
    expect((await track('from=0&to=1000', operator, 987_654)).status).toBe(404);
  });
});
