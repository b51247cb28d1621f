import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainConnectionFailure } from '../src/launch/startup-errors.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { freePort } from '../tools/testkit/free-port.ts';
import { HubProcess } from '../tools/testkit/hub-process.ts';
import { dropPrefix, uniquePrefix } from '../tools/testkit/redis.ts';
import { runEntry, STACK_LINE } from './support/run-entry.ts';

const SECRET = 'a-test-secret-that-is-long-enough-0123456789';

/** `npm start`'s entry with only `env` (and a free port): what a user sees on stderr, and the exit code. */
async function start(env: Record<string, string>) {
  const result = await runEntry('src/main.ts', [], { env: { HOST: '127.0.0.1', PORT: String(await freePort()), LOG_LEVEL: 'silent', ...env } });
  expect(result.stderr).not.toMatch(STACK_LINE);
  return { code: result.code, lines: result.stderr.trim().split('\n') };
}

describe('start-up errors name the setting and the fix', () => {
  let db: PrivateDatabase;
  const prefix = uniquePrefix('startup-errors');
  beforeAll(async () => {
    db = await createPrivateDatabase({ prefix: 'startup_errors' });
  });
  afterAll(() => Promise.allSettled([db.drop(), dropPrefix(prefix)]));

  it('an unreachable DATABASE_URL', async () => {
    const port = await freePort();
    expect(await start({ DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/dispatch` })).toEqual({
      code: 1,
      lines: [
        `DATABASE_URL: nothing accepts connections at 127.0.0.1:${port} (connection refused): start PostgreSQL there, or point DATABASE_URL at a running server`,
      ],
    });
  }, 240_000);

  it('a database that does not exist, with the createdb command', async () => {
    const url = new URL(db.url);
    url.pathname = '/no_such_database_here';
    expect(await start({ DATABASE_URL: url.toString() })).toEqual({
      code: 1,
      lines: [
        `DATABASE_URL: database "no_such_database_here" does not exist on 127.0.0.1:5432: create it with \`createdb -h 127.0.0.1 -p 5432 -U ${url.username} no_such_database_here\``,
      ],
    });
  }, 240_000);

  it('every configuration problem in one pass, production rules included', async () => {
    expect(await start({ NODE_ENV: 'production', AUTH_SECRET: SECRET, PG_POOL_SIZE: 'lots' })).toEqual({
      code: 2,
      lines: [
        'Invalid configuration:',
        '  PG_POOL_SIZE: must be a whole number from 1 to 100',
        '  DATABASE_URL: is required when NODE_ENV=production: set it to your PostgreSQL URL (or ALLOW_EMBEDDED=true to run on the embedded database on purpose)',
      ],
    });
  }, 240_000);

  it('an unreachable REDIS_URL is said in the banner, and the listening line does not call the index healthy', async () => {
    const redisPort = await freePort();
    const hub = await HubProcess.start({
      env: { DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'info' },
      label: 'redis-unreachable',
      readyTimeoutMs: 150_000,
    });
    try {
      // The banner goes to stderr, the JSON log to stdout: wait for both.
      await expect.poll(() => hub.output(), { timeout: 20_000 }).toContain('dispatch hub ready');
      await expect.poll(() => hub.output(), { timeout: 20_000 }).toContain('"msg":"hub listening"');
      const output = hub.output();
      expect(output).toContain(
        `PostgreSQL 127.0.0.1:5432/${db.name} + Redis 127.0.0.1:${redisPort} (unreachable: nearby answers come from PostgreSQL until it is back)`,
      );
      const listening = output.split('\n').find((line) => line.includes('"msg":"hub listening"'));
      expect(JSON.parse(listening!)).toMatchObject({ geo: 'redis', geoState: 'down', nearbyFrom: 'postgres' });
    } finally {
      await hub.stop();
    }
  }, 240_000);

  it('explains the other ways PostgreSQL and Redis refuse, never echoing a password', () => {
    const target = { setting: 'DATABASE_URL' as const, url: 'postgres://app:hunter2@db.internal:6543/dispatch', connectTimeoutMs: 2000 };
    const lines = [
      explainConnectionFailure(Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01' }), target),
      explainConnectionFailure(Object.assign(new Error('getaddrinfo ENOTFOUND db.internal'), { code: 'ENOTFOUND' }), target),
      explainConnectionFailure(new Error('Connection terminated due to connection timeout'), target),
      explainConnectionFailure(new AggregateError([Object.assign(new Error('connect ECONNREFUSED ::1:6379'), { code: 'ECONNREFUSED' })]), {
        setting: 'REDIS_URL',
        url: 'redis://localhost:6379',
      }),
      explainConnectionFailure(new Error('syntax error at or near "SELEC"'), target),
    ];
    expect(lines).toEqual([
      'DATABASE_URL: db.internal:6543 refused user "app" (password authentication failed for user "app"): fix the user or password in DATABASE_URL',
      'DATABASE_URL: host "db.internal" not found: fix the host name in DATABASE_URL',
      'DATABASE_URL: no answer from db.internal:6543 within 2000 ms (PG_CONNECT_TIMEOUT_MS): check the host, the port and any firewall in between',
      'REDIS_URL: nothing accepts connections at localhost:6379 (connection refused): start Redis there, or point REDIS_URL at a running server',
      null,
    ]);
    expect(lines.join('\n')).not.toContain('hunter2');
  });
});
