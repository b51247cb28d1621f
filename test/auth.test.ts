import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SignJWT, UnsecuredJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { bearerSubprotocols, BEARER_SUBPROTOCOL_PREFIX, HUB_SUBPROTOCOL } from '../src/protocol/handshake.ts';
import type { HelloMessage } from '../src/protocol/messages.ts';
import { CloseCode } from '../src/protocol/close-codes.ts';
import { restErrorSchema } from '../src/protocol/rest.ts';
import { seedFleet, withDb } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { AUTH_ENV, driverToken, refusedUpgrade, riderToken, TEST_AUTH_SECRET, TEST_PREVIOUS_SECRET } from './support/tokens.ts';
import { TestClient } from './support/ws-client.ts';
import { connectSteadily } from './support/steady-connect.ts';

let testHub: TestHub;
let ids: number[];

beforeAll(async () => {
  testHub = await startTestHub('auth', AUTH_ENV);
  ids = await seedFleet(testHub, 6);
});
afterAll(() => testHub.close());

const driverUrl = (query: string) => testHub.wsUrl(`/ws/driver?${query}`);
const riderUrl = (query: string) => testHub.wsUrl(`/ws/rider?${query}`);

async function locationRow(id: number): Promise<{ lat: number | null; rows: number }> {
  return withDb(testHub.db.url, async (db) => {
    const driver = await db.query<{ lat: number | null }>('SELECT lat FROM drivers WHERE id = $1', [id]);
    const history = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM driver_locations WHERE driver_id = $1', [id]);
    return { lat: driver.rows[0]!.lat, rows: history.rows[0]!.n };
  });
}

describe('WebSocket upgrade with tokens', () => {
  it('opens /ws/driver as the token subject with ?token=, and its frames are acked', async () => {
    const id = ids[0]!;
    const driver = await connectSteadily(driverUrl(`token=${await driverToken(id)}`));
    expect(await driver.waitFor<HelloMessage>((m) => m.t === 'hello')).toMatchObject({ driverId: id });
    driver.send({ t: 'loc', seq: 1, lat: 40.75, lng: -73.98 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === 1);
    driver.close();
  });

  it('takes the token from Sec-WebSocket-Protocol and answers with dispatch.v1, never echoing the token', async () => {
    const token = await riderToken('rider-proto');
    const rider = await TestClient.connect(riderUrl(''), {}, bearerSubprotocols(token));
    expect(rider.socket.protocol).toBe(HUB_SUBPROTOCOL);
    rider.send({ t: 'nearby', id: 1, lat: 40.75, lng: -73.98 });
    await rider.waitFor((m) => m.t === 'nearby.result');
    rider.close();
  });

  it('echoes the bearer offer when it is the only subprotocol offered, so the handshake still completes', async () => {
    const offer = `${BEARER_SUBPROTOCOL_PREFIX}${await driverToken(ids[1]!)}`;
    const driver = await TestClient.connect(driverUrl(''), {}, [offer]);
    expect(driver.socket.protocol).toBe(offer);
    await driver.waitFor((m) => m.t === 'hello');
    driver.close();
  });

  it('accepts a token signed with the previous secret during a rotation', async () => {
    const driver = await connectSteadily(driverUrl(`token=${await driverToken(ids[2]!, '1h', TEST_PREVIOUS_SECRET)}`));
    await driver.waitFor((m) => m.t === 'hello');
    driver.close();
  });

  it.each([
    ['no token', async () => ''],
    ['garbage', async () => 'token=not.a.jwt'],
    ['a token signed with an unknown secret', async () => `token=${await driverToken(ids[0]!, '1h', 'some-other-secret-that-is-long-enough-1234')}`],
    ['an expired token', async () => `token=${await driverToken(ids[0]!, -60)}`],
    ['an unsigned (alg none) token', async () => `token=${new UnsecuredJWT({ role: 'driver' }).setSubject(String(ids[0])).setExpirationTime('1h').encode()}`],
    [
      'an HS512 token made with the right secret',
      async () =>
        `token=${await new SignJWT({ role: 'driver' }).setProtectedHeader({ alg: 'HS512' }).setSubject(String(ids[0])).setExpirationTime('1h').sign(new TextEncoder().encode(TEST_AUTH_SECRET))}`,
    ],
    [
      'a token without a role',
      async () =>
        `token=${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(String(ids[0])).setExpirationTime('1h').sign(new TextEncoder().encode(TEST_AUTH_SECRET))}`,
    ],
    [
      'a token without an expiry',
      async () =>
        `token=${await new SignJWT({ role: 'driver' }).setProtectedHeader({ alg: 'HS256' }).setSubject(String(ids[0])).sign(new TextEncoder().encode(TEST_AUTH_SECRET))}`,
    ],
    ['an open-mode ?id= alone', async () => `id=${ids[0]}`],
    ['a 10 kB token', async () => `token=${'a'.repeat(10_000)}`],
  ])('refuses %s with 401 and no socket', async (_name, query) => {
    const refusal = await refusedUpgrade(driverUrl(await query()));
    expect(refusal.status).toBe(401);
    expect(refusal.body.code).toBe('unauthorized');
  });

  it('says "token expired" for an expired token', async () => {
    const refusal = await refusedUpgrade(driverUrl(`token=${await driverToken(ids[0]!, -60)}`));
    expect(refusal).toMatchObject({ status: 401, body: { error: 'token expired' } });
  });

  it('refuses a rider token on /ws/driver, a driver token on /ws/rider, and a driver token for another id, with 403', async () => {
    expect((await refusedUpgrade(driverUrl(`token=${await riderToken('r1')}`))).status).toBe(403);
    expect((await refusedUpgrade(riderUrl(`token=${await driverToken(ids[0]!)}`))).status).toBe(403);
    expect((await refusedUpgrade(driverUrl(`id=${ids[1]}&token=${await driverToken(ids[0]!)}`))).status).toBe(403);
  });

  it('allows ?id= only when it matches the token', async () => {
    const driver = await connectSteadily(driverUrl(`id=${ids[3]}&token=${await driverToken(ids[3]!)}`));
    expect(await driver.waitFor<HelloMessage>((m) => m.t === 'hello')).toMatchObject({ driverId: ids[3] });
    driver.close();
  });
});

describe('token expiry and takeover', () => {
  it('closes a socket whose token expires with 4401, and a fresh token reconnects', async () => {
    const id = ids[4]!;
    const driver = await connectSteadily(driverUrl(`token=${await driverToken(id, 2)}`));
    await driver.waitFor((m) => m.t === 'hello');
    const closed = await driver.waitForClose(6000);
    expect(closed.code).toBe(CloseCode.TOKEN_EXPIRED);
    const again = await connectSteadily(driverUrl(`token=${await driverToken(id)}`));
    await again.waitFor((m) => m.t === 'hello');
    again.close();
  });

  it('closes the older socket of a driver with 4001 when a newer one opens, and ignores its frames from then on', async () => {
    const id = ids[5]!;
    const token = await driverToken(id);
    const first = await connectSteadily(driverUrl(`token=${token}`));
    await first.waitFor((m) => m.t === 'hello');
    const second = await connectSteadily(driverUrl(`token=${token}`));
    await second.waitFor((m) => m.t === 'hello');
    expect((await first.waitForClose()).code).toBe(CloseCode.REPLACED);
    second.send({ t: 'loc', seq: 1, lat: 40.76, lng: -73.97 });
    await second.waitFor((m) => m.t === 'ack' && m.seq === 1);
    second.close();
  });
});

describe('REST writes', () => {
  const post = (id: number, authorization?: string) =>
    fetch(testHub.httpUrl(`/api/drivers/${id}/location`), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(authorization !== undefined && { authorization }) },
      body: JSON.stringify({ lat: 40.7, lng: -73.9 }),
    });

  it('refuses a missing, malformed, expired or foreign token and writes nothing', async () => {
    const id = ids[2]!;
    const before = await locationRow(id);
    const cases: Array<[string | undefined, number]> = [
      [undefined, 401],
      ['Basic dXNlcjpwYXNz', 401],
      ['Bearer nonsense', 401],
      [`Bearer ${await driverToken(id, -10)}`, 401],
      [`Bearer ${await riderToken('rider-rest')}`, 403],
      [`Bearer ${await driverToken(ids[1]!)}`, 403],
    ];
    for (const [authorization, status] of cases) {
      const response = await post(id, authorization);
      expect(response.status, String(authorization)).toBe(status);
      expect(restErrorSchema.parse(await response.json()).success).toBe(false);
    }
    expect(await locationRow(id)).toEqual(before);
  });

  it('writes with the driver token for that id', async () => {
    const id = ids[2]!;
    const response = await post(id, `Bearer ${await driverToken(id)}`);
    expect(response.status).toBe(200);
    expect((await locationRow(id)).lat).toBe(40.7);
  });
});

describe('open mode and configuration', () => {
  it('refuses to start in production without AUTH_SECRET, and refuses a short secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x@127.0.0.1/db' })).toThrow(
      /AUTH_SECRET: is required when NODE_ENV=production/,
    );
    expect(() => loadConfig({ AUTH_SECRET: 'short' })).toThrow(/AUTH_SECRET/);
    expect(() => loadConfig({ AUTH_PREVIOUS_SECRET: TEST_PREVIOUS_SECRET })).toThrow(/AUTH_PREVIOUS_SECRET: needs AUTH_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_SECRET: TEST_AUTH_SECRET, DATABASE_URL: 'postgres://x@127.0.0.1/db' }).AUTH_SECRET).toBe(TEST_AUTH_SECRET);
  });

  it('runs open without AUTH_SECRET, with a loud warning, and takes ?id= again', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const open = await startTestHub('auth-open', {}, { logger });
    try {
      expect(lines.some((line) => line.includes('AUTH DISABLED'))).toBe(true);
      const [id] = await seedFleet(open, 1);
      const driver = await connectSteadily(open.wsUrl(`/ws/driver?id=${id}`));
      await driver.waitFor((m) => m.t === 'hello');
      driver.close();
    } finally {
      await open.close();
    }
  });
});

describe('npm run token', () => {
  it('prints a token the hub accepts', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'scripts/token.ts', '--role', 'driver', '--id', String(ids[1]), '--ttl', '10m'],
      {
        env: { PATH: process.env.PATH, AUTH_SECRET: TEST_AUTH_SECRET },
      },
    );
    const driver = await connectSteadily(driverUrl(`token=${stdout.trim()}`));
    expect(await driver.waitFor<HelloMessage>((m) => m.t === 'hello')).toMatchObject({ driverId: ids[1] });
    driver.close();
  });
});
