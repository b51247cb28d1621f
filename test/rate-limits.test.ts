import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorMessage, ServerMessage } from '../src/protocol/messages.ts';
import { CloseCode } from '../src/protocol/close-codes.ts';
import { seedFleet, withDb } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { AUTH_ENV, driverToken, refusedUpgrade, riderToken } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';
import { connectSteadily } from './support/steady-connect.ts';

const DRIVER_BURST = 5;
const RIDER_BURST = 3;
const ABUSE_REFUSALS = 30;

let testHub: TestHub;
let ids: number[];

beforeAll(async () => {
  testHub = await startTestHub('rate-limits', {
    ...AUTH_ENV,
    DRIVER_FRAMES_PER_S: '5',
    DRIVER_FRAME_BURST: String(DRIVER_BURST),
    RIDER_QUERIES_PER_S: '2',
    RIDER_QUERY_BURST: String(RIDER_BURST),
    RATE_LIMIT_ABUSE_REFUSALS: String(ABUSE_REFUSALS),
    RATE_LIMIT_ABUSE_WINDOW_MS: '60000',
  });
  ids = await seedFleet(testHub, 4);
});
afterAll(() => testHub.close());

const isRateLimited = (m: ServerMessage): m is ErrorMessage => m.t === 'error' && m.code === 'rate_limited';

async function committed(driverId: number): Promise<{ rows: number; lastSeq: number }> {
  return withDb(testHub.db.url, async (db) => {
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM driver_locations WHERE driver_id = $1', [driverId]);
    const driver = await db.query<{ s: number }>('SELECT last_seq::int AS s FROM drivers WHERE id = $1', [driverId]);
    return { rows: rows.rows[0]!.n, lastSeq: driver.rows[0]!.s };
  });
}

async function connectDriver(hub: TestHub, id: number): Promise<TestClient> {
  const driver = await connectSteadily(hub.wsUrl(`/ws/driver?token=${await driverToken(id)}`));
  await driver.waitFor((m) => m.t === 'hello');
  return driver;
}

async function waitUntil(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('per-connection rate limits', () => {
  it('refuses driver frames over the bucket with rate_limited and a retry hint, and writes only the admitted ones', async () => {
    const id = ids[0]!;
    const driver = await connectDriver(testHub, id);
    for (let seq = 1; seq <= 12; seq++) driver.send({ t: 'loc', seq, lat: 40.75, lng: -73.98 + seq * 1e-4 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === DRIVER_BURST);
    await waitUntil(() => driver.received.filter((entry) => isRateLimited(entry.message)).length === 12 - DRIVER_BURST, 'every extra frame is refused');
    const refusals = driver.received.map((entry) => entry.message).filter(isRateLimited);
    for (const refusal of refusals) expect(refusal.retryAfterMs).toBeGreaterThan(0);
    expect(await committed(id)).toEqual({ rows: DRIVER_BURST, lastSeq: DRIVER_BURST });

    // Sleep on purpose, the behaviour is the hint: after the hinted wait the next frame goes through.
    await new Promise((resolve) => setTimeout(resolve, Math.max(...refusals.map((refusal) => refusal.retryAfterMs!))));
    driver.send({ t: 'loc', seq: DRIVER_BURST + 1, lat: 40.75, lng: -73.98 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === DRIVER_BURST + 1);
    expect(driver.closeEvent).toBeUndefined();
    driver.close();
  });

  it('never acks past a rate-limited frame: later seqs wait until it is resent', async () => {
    const id = ids[3]!;
    const driver = await connectDriver(testHub, id);
    for (let seq = 1; seq <= DRIVER_BURST + 1; seq++) driver.send({ t: 'loc', seq, lat: 40.75, lng: -73.98 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === DRIVER_BURST);
    const refused = DRIVER_BURST + 1;
    await driver.waitFor(isRateLimited);
    // Sleep on purpose, the behaviour is a refill: at 5 frames/s, a second gives room for the three frames below.
    await new Promise((resolve) => setTimeout(resolve, 1000));

    // The bucket has refilled, but the next seq would make the ack claim the refused one.
    const mark = driver.received.length;
    driver.send({ t: 'loc', seq: refused + 1, lat: 40.75, lng: -73.98 });
    const error = await driver.waitFor<ErrorMessage>((m) => m.t === 'error', 5000, mark);
    expect(error.code).toBe('overloaded');
    expect(await committed(id)).toEqual({ rows: DRIVER_BURST, lastSeq: DRIVER_BURST });

    driver.send({ t: 'loc', seq: refused, lat: 40.75, lng: -73.98 });
    driver.send({ t: 'loc', seq: refused + 1, lat: 40.75, lng: -73.98 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === refused + 1);
    expect(await committed(id)).toEqual({ rows: refused + 1, lastSeq: refused + 1 });
    driver.close();
  });

  it('refuses rider queries over the bucket without running them', async () => {
    const rider = await connectSteadily(testHub.wsUrl(`/ws/rider?token=${await riderToken('rate-rider')}`));
    for (let id = 1; id <= 6; id++) rider.send({ t: 'nearby', id, lat: 40.75, lng: -73.98 }, 'msgpack');
    await waitUntil(() => rider.received.length === 6, 'six answers arrive');
    const results = rider.received.map((entry) => entry.message).filter((m) => m.t === 'nearby.result');
    // The first ones in are answered (in whatever order their searches finish).
    const answered = results.map((m) => (m.t === 'nearby.result' ? Number(m.id) : 0)).sort((a, b) => a - b);
    expect(answered).toEqual(Array.from({ length: RIDER_BURST }, (_, index) => index + 1));
    expect(rider.received.filter((entry) => isRateLimited(entry.message))).toHaveLength(6 - RIDER_BURST);
    // A refusal answers in the encoding of the frame it refuses.
    expect(rider.received.every((entry) => entry.binary)).toBe(true);
    rider.close();
  });

  it('closes a connection that keeps sending into refusals with 1008, while another driver is unaffected', async () => {
    const [abuserId, politeId] = [ids[1]!, ids[2]!];
    const abuser = await connectDriver(testHub, abuserId);
    const polite = await connectDriver(testHub, politeId);
    const closedBefore = (await testHub.hub.metrics.socketsClosedByHub.get()).values.find((v) => v.labels.reason === 'rate_abuse')?.value ?? 0;

    for (let seq = 1; seq <= 200; seq++) abuser.send({ t: 'loc', seq, lat: 40.7, lng: -73.9 });
    for (let seq = 1; seq <= 3; seq++) {
      polite.send({ t: 'loc', seq, lat: 40.71, lng: -73.91 });
      await polite.waitFor((m) => m.t === 'ack' && m.seq === seq);
    }
    expect((await abuser.waitForClose()).code).toBe(CloseCode.POLICY_VIOLATION);
    expect(abuser.received.filter((entry) => isRateLimited(entry.message)).length).toBeLessThanOrEqual(ABUSE_REFUSALS);
    // The admitted frames were queued before the close and are still committed; nothing past them is.
    await testHub.hub.ingest.drain();
    expect(await committed(abuserId)).toEqual({ rows: DRIVER_BURST, lastSeq: DRIVER_BURST });
    const closedAfter = (await testHub.hub.metrics.socketsClosedByHub.get()).values.find((v) => v.labels.reason === 'rate_abuse')?.value ?? 0;
    expect(closedAfter - closedBefore).toBe(1);
    expect(polite.closeEvent).toBeUndefined();
    polite.close();
  });
});

describe('connection caps', () => {
  let capped: TestHub;
  let capIds: number[];

  beforeAll(async () => {
    capped = await startTestHub('caps', { ...AUTH_ENV, MAX_CONNECTIONS: '4', MAX_CONNECTIONS_PER_IDENTITY: '2' });
    capIds = await seedFleet(capped, 2);
  });
  afterAll(() => capped.close());

  const openCount = () => {
    const counts = capped.hub.transport.connectionCounts();
    return counts.drivers + counts.riders;
  };

  it('refuses a third socket for one rider with 429, and a fifth socket for the hub with 503, each with Retry-After', async () => {
    const token = await riderToken('capped-rider');
    const riderUrl = (t: string) => capped.wsUrl(`/ws/rider?token=${t}`);
    const first = await TestClient.connect(riderUrl(token));
    const second = await TestClient.connect(riderUrl(token));
    const perIdentity = await refusedUpgrade(riderUrl(token));
    expect(perIdentity).toMatchObject({ status: 429, body: { code: 'rate_limited' } });
    expect(Number(perIdentity.headers['retry-after'])).toBeGreaterThan(0);

    // Refused admissions give their slot back: an unknown driver's 404s do not fill the hub.
    for (let attempt = 0; attempt < 5; attempt++)
      expect((await refusedUpgrade(capped.wsUrl(`/ws/driver?token=${await driverToken(987_654)}`))).status).toBe(404);

    const drivers = [await connectDriver(capped, capIds[0]!), await connectDriver(capped, capIds[1]!)];
    const hubFull = await refusedUpgrade(riderUrl(await riderToken('someone-else')));
    expect(hubFull).toMatchObject({ status: 503, body: { code: 'overloaded' } });
    expect(Number(hubFull.headers['retry-after'])).toBeGreaterThan(0);

    first.close();
    await waitUntil(() => openCount() === 3, 'the hub sees the close');
    const third = await TestClient.connect(riderUrl(token));
    third.send({ t: 'nearby', id: 'after', lat: 40.75, lng: -73.98 });
    await third.waitFor((m) => m.t === 'nearby.result');
    for (const client of [second, third, ...drivers]) client.close();
    await waitUntil(() => openCount() === 0, 'every socket is closed');
  });
});
