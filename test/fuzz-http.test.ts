import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restErrorSchema } from '../src/protocol/rest.ts';
import { seedFleet, withDb } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { AUTH_ENV, driverToken } from './support/tokens.ts';

/**
 * The REST endpoints under hostile input: injection strings in every
 * parameter, huge bodies, wrong content types, unknown methods. Every answer
 * is a 4xx with a typed JSON error, and the database never changes.
 */
const RUNS = 150;

let testHub: TestHub;
let victimId: number;
let victimAuthorization: string;
let snapshotBefore: string;
const statuses = new Map<number, number>();
let cases = 0;
let connectionsCut = 0;

beforeAll(async () => {
  testHub = await startTestHub('fuzz-http', AUTH_ENV);
  [victimId] = (await seedFleet(testHub, 50)) as [number];
  victimAuthorization = `Bearer ${await driverToken(victimId)}`;
  snapshotBefore = await databaseSnapshot();
});
afterAll(() => testHub.close());

/** Everything a write could touch, as one digest. */
function databaseSnapshot(): Promise<string> {
  return withDb(testHub.db.url, async (db) => {
    const drivers = await db.query<{ digest: string | null }>(`SELECT md5(string_agg(d::text, '|' ORDER BY id)) AS digest FROM drivers d`);
    const history = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM driver_locations');
    return `${drivers.rows[0]!.digest}:${history.rows[0]!.n}`;
  });
}

const INJECTIONS = [
  "' OR '1'='1",
  '1; DROP TABLE drivers; --',
  '1 UNION SELECT usename, passwd FROM pg_shadow --',
  "'; UPDATE drivers SET lat = 0; --",
  "1' AND pg_sleep(5) --",
  '$1',
  '\\x00',
  '\u0000',
  '%00',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '{"$gt": ""}',
  "economy' OR vehicle_type <> '",
  '1e309',
  '0x10',
  ' 40 ',
  '',
  'NaN',
  '-Infinity',
  '40,-73',
  '٤٠',
];

/** Hostile strings: the classics, mixed with random text around them. */
const injection = fc.oneof(
  fc.constantFrom(...INJECTIONS),
  fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...INJECTIONS), fc.string({ maxLength: 20 })).map((parts) => parts.join('')),
);

async function expectRefused(response: Response | { status: number; body: string }): Promise<void> {
  cases += 1;
  const status = response.status;
  const text = response instanceof Response ? await response.text() : response.body;
  statuses.set(status, (statuses.get(status) ?? 0) + 1);
  expect(status, text).toBeGreaterThanOrEqual(400);
  expect(status, text).toBeLessThan(500);
  // The schema holds both promises: success is false and the code is one of ERROR_CODES.
  expect(restErrorSchema.safeParse(JSON.parse(text)).success, text).toBe(true);
}

function postLocation(id: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(testHub.httpUrl(`/api/drivers/${id}/location`), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: victimAuthorization, ...headers },
    body,
  });
}

/** Any method, including ones fetch refuses to send; 'cut' when the server closed the connection instead of answering. */
function rawRequest(method: string, path: string): Promise<{ status: number; body: string } | 'cut'> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: testHub.hub.port, method, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' ? resolve('cut') : reject(error)));
    req.end();
  });
}

describe('injection strings in every parameter', () => {
  it('the driver id in the path', async () => {
    await fc.assert(
      fc.asyncProperty(injection, async (value) => expectRefused(await postLocation(encodeURIComponent(value), '{"lat":40.7,"lng":-73.9}'))),
      { numRuns: RUNS },
    );
  });

  it('each query parameter of GET /api/drivers/nearby', async () => {
    const params = ['lat', 'lng', 'radius', 'limit', 'vehicleType', 'minRating'] as const;
    await fc.assert(
      // Random text around an empty injection can spell a plain number ("0"), which is a valid query value, not an attack.
      fc.asyncProperty(
        fc.constantFrom(...params),
        injection.filter((value) => !/^-?\d+(\.\d+)?$/.test(value)),
        async (param, value) => {
          const query = new URLSearchParams({ lat: '40.75', lng: '-73.98', radius: '3', limit: '5', [param]: value });
          await expectRefused(await fetch(testHub.httpUrl(`/api/drivers/nearby?${query}`)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('each body field, as a string or as an extra key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('lat', 'lng', 'extra'), injection, async (field, value) => {
        const body = field === 'extra' ? { lat: 40.7, lng: -73.9, [value || 'empty']: 1 } : { lat: 40.7, lng: -73.9, [field]: value };
        await expectRefused(await postLocation(String(victimId), JSON.stringify(body)));
      }),
      { numRuns: RUNS },
    );
  });

  it('the Authorization and Content-Type headers', async () => {
    // Header values cannot hold control characters or non-Latin-1 text: those never reach the hub.
    const headerSafe = injection.map((value) => value.replace(/[^\x20-\x7e]/g, '?'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('authorization', 'content-type'), headerSafe, async (header, value) => {
        const headerValue = header === 'authorization' ? `Bearer ${value}` : value;
        await expectRefused(await postLocation(String(victimId), '{"lat":40.7,"lng":-73.9}', { [header]: headerValue }));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('bodies, content types and methods', () => {
  it('huge bodies get 413 (or the connection cut while uploading)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 4097, max: 1_048_576 }), async (size) => {
        const body = `{"lat":40.7,"lng":-73.9,"pad":"${'x'.repeat(size)}"}`;
        const response = await postLocation(String(victimId), body).catch((error: Error) => error);
        if (response instanceof Error) {
          cases += 1;
          connectionsCut += 1;
          return;
        }
        expect(response.status).toBe(413);
        await expectRefused(response);
      }),
      { numRuns: 40 },
    );
  });

  it('wrong content types and random bodies get 400', async () => {
    const contentTypes = fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonp',
      'application/json-seq',
      'application/xml',
      '',
    );
    await fc.assert(
      fc.asyncProperty(contentTypes, async (contentType) =>
        expectRefused(await postLocation(String(victimId), '{"lat":40.7,"lng":-73.9}', { 'content-type': contentType })),
      ),
      { numRuns: 40 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => expectRefused(await postLocation(String(victimId), Uint8Array.from(bytes)))),
      { numRuns: RUNS },
    );
  });

  // uWS answers the methods it knows; others (PROPFIND, BREW, ...) it refuses by closing the connection before any handler runs.
  it('unknown methods on every path get 404 or 405, or the connection closed', async () => {
    const methods = fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'LOCK', 'PURGE', 'BREW', 'FOO');
    const paths = fc.constantFrom(
      '/api/drivers/nearby',
      `/api/drivers/${'1'}/location`,
      '/healthz',
      '/readyz',
      '/metrics',
      '/api/stats',
      '/',
      '/api',
      '/ws/driver',
      '/../etc/passwd',
    );
    await fc.assert(
      fc.asyncProperty(methods, paths, async (method, path) => {
        const response = await rawRequest(method, path);
        if (response === 'cut') {
          cases += 1;
          connectionsCut += 1;
          return;
        }
        expect([404, 405]).toContain(response.status);
        await expectRefused(response);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('after every hostile request', () => {
  it('the database is unchanged and the hub still serves a well-formed write', async () => {
    expect(await databaseSnapshot()).toBe(snapshotBefore);
    const ok = await postLocation(String(victimId), '{"lat":40.7001,"lng":-73.9001}');
    expect(ok.status).toBe(200);
    console.info(
      `fuzz-http: ${cases} hostile requests, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ${connectionsCut} connections closed by the server`,
    );
  });
});
