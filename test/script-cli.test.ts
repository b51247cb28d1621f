import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { freePort } from '../tools/testkit/free-port.ts';
import { runEntry, runNpmScript, STACK_LINE, type RunResult } from './support/run-entry.ts';

/** Scripts whose command line is ours: they answer --help and refuse unknown options the same way. */
const OUR_SCRIPTS = ['start', 'demo', 'simulate', 'db:migrate', 'db:seed', 'setup:redis', 'token', 'config:docs', 'bench', 'bench:dispatch', 'lint'];
/** Scripts that hand their arguments to a tool (tsc, vitest, drizzle-kit, eslint, depcruise, prettier), which answers --help itself. */
const TOOL_SCRIPTS = ['test', 'typecheck', 'typecheck:k6', 'db:generate', 'lint:es', 'lint:deps', 'format', 'format:check'];

/** Runs `work` over `items`, a few at a time: each is a Node process, and the machine is shared. */
async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  return results;
}

const show = (result: RunResult) => `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;

describe('every package.json script', () => {
  it('is one of the scripts these tests know, so a new one cannot slip by untested', async () => {
    const { scripts } = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
    const known = new Set([...OUR_SCRIPTS, ...TOOL_SCRIPTS]);
    const unknown = Object.keys(scripts).filter((name) => !known.has(name));
    expect(unknown, 'a new script: add it to OUR_SCRIPTS (our command line) or TOOL_SCRIPTS (a tool with its own --help) above').toEqual([]);
    expect(Object.keys(scripts).sort()).toEqual([...known].sort());
    // Long-lived scripts run under node itself: tsx's CLI relays Ctrl-C and kills its child about 30 ms later.
    for (const name of OUR_SCRIPTS) expect(scripts[name], name).toMatch(/^exec node --import tsx \S+\.ts$/);
  });

  /** The file a script runs, from its `exec node --import tsx <file>` (checked above). */
  async function entries(): Promise<string[]> {
    const { scripts } = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
    return OUR_SCRIPTS.map((script) => scripts[script]!.replace('exec node --import tsx ', ''));
  }

  it('answers --help with its usage and exit 0', async () => {
    // Through npm once, as a user types it: npm hands the arguments after -- to the script.
    const viaNpm = await runNpmScript('token', ['--help']);
    expect(viaNpm.code, show(viaNpm)).toBe(0);
    expect(viaNpm.stdout).toMatch(/^usage: npm run token/);
    // Then each entry straight through node, a few at a time: npm would double every run's CPU.
    const results = await inBatches(await entries(), 3, (entry) => runEntry(entry, ['--help']));
    results.forEach((result, i) => {
      expect(result.code, `${OUR_SCRIPTS[i]}: ${show(result)}`).toBe(0);
      expect(result.stdout, OUR_SCRIPTS[i]).toMatch(/^usage: npm (start|run \S+)/);
    });
    // Eleven short processes; minutes on a machine loaded many times over.
  }, 300_000);

  it('refuses an unknown option with the usage and exit 2, before doing anything', async () => {
    const results = await inBatches(await entries(), 3, (entry) => runEntry(entry, ['--no-such-option']));
    results.forEach((result, i) => {
      expect(result.code, `${OUR_SCRIPTS[i]}: ${show(result)}`).toBe(2);
      expect(result.stderr, OUR_SCRIPTS[i]).toContain("Unknown option '--no-such-option'");
      expect(result.stderr, OUR_SCRIPTS[i]).toMatch(/^usage: npm (start|run \S+)/m);
      expect(result.stderr, OUR_SCRIPTS[i]).not.toMatch(STACK_LINE);
    });
  }, 300_000);
});

describe('script failures', () => {
  let db: PrivateDatabase;
  beforeAll(async () => {
    db = await createPrivateDatabase({ prefix: 'script_cli' });
  });
  afterAll(() => db.drop());

  it('reports configuration problems one line each, without a stack, exit 2', async () => {
    const token = await runEntry('scripts/token.ts', ['--role', 'driver', '--id', '1'], { env: { AUTH_SECRET: 'short' } });
    expect(token.code).toBe(2);
    expect(token.stderr.trim().split('\n')).toEqual([
      'Invalid configuration:',
      '  AUTH_SECRET: must be at least 32 characters (make one with `openssl rand -base64 32`)',
    ]);

    const migrate = await runEntry('scripts/migrate.ts', [], { env: { DATABASE_URL: 'mysql://x', PG_POOL_SIZE: '0' } });
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain('  DATABASE_URL: must be a URL like postgres://user@host:5432/dbname');
    expect(migrate.stderr).toContain('  PG_POOL_SIZE: must be a whole number from 1 to 100');
    expect(migrate.stderr).not.toMatch(STACK_LINE);

    const setupRedis = await runEntry('scripts/setup-redis.ts');
    expect(setupRedis.code).toBe(2);
    expect(setupRedis.stderr.trim().split('\n')).toEqual([
      'DATABASE_URL: setup:redis loads Redis from PostgreSQL: set DATABASE_URL to its URL',
      'REDIS_URL: setup:redis loads the Redis geo index: set REDIS_URL to its URL (or REDIS_CLUSTER_NODES for a cluster)',
    ]);
  }, 240_000);

  it('rejects a bad argument value with the usage and exit 2', async () => {
    const seed = await runEntry('scripts/seed.ts', ['--drivers', 'many'], { env: { DATABASE_URL: db.url } });
    expect(seed.code).toBe(2);
    expect(seed.stderr).toMatch(/^--drivers must be a whole number ≥ 0, got "many"\n\nusage: npm run db:seed/);
    const token = await runEntry('scripts/token.ts', ['--role', 'admin', '--id', '1']);
    expect(token.code).toBe(2);
    expect(token.stderr).toMatch(/^--role must be driver, rider or operator\n\nusage: npm run token/);
  }, 240_000);

  it('names the service it could not reach and exits 1', async () => {
    const deadPort = await freePort();
    const migrate = await runEntry('scripts/migrate.ts', [], { env: { DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/dispatch` } });
    expect(migrate.code).toBe(1);
    expect(migrate.stderr.trim()).toBe(
      `DATABASE_URL: nothing accepts connections at 127.0.0.1:${deadPort} (connection refused): start PostgreSQL there, or point DATABASE_URL at a running server`,
    );
    const setupRedis = await runEntry('scripts/setup-redis.ts', [], { env: { DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${deadPort}` } });
    expect(setupRedis.code).toBe(1);
    expect(setupRedis.stderr.trim()).toBe(
      `REDIS_URL: nothing accepts connections at 127.0.0.1:${deadPort} (connection refused): start Redis there, or point REDIS_URL at a running server`,
    );
  }, 240_000);

  it('simulate exits 1 when it never connected, with its summary and the reason', async () => {
    const deadPort = await freePort();
    const simulate = await runEntry('clients/sim/cli.ts', ['--drivers', '3', '--url', `ws://127.0.0.1:${deadPort}`, '--duration', '2s']);
    expect(simulate.code, show(simulate)).toBe(1);
    expect(simulate.stdout).toContain('Simulation summary');
    expect(simulate.stderr).toMatch(
      new RegExp(`FAIL: never connected to ws://127\\.0\\.0\\.1:${deadPort} \\(.*ECONNREFUSED \\d+\\): is a hub running there\\?`),
    );
  }, 240_000);
});
