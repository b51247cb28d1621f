import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { freePort } from '../tools/testkit/free-port.ts';
import { runEntry, runNpmScript, STACK_LINE, type RunResult } from './support/run-entry.ts';

/** Runs `work` over `items`, a few at a time: each is a Node process, and the machine is shared. */
async function inBatches<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += size) results.push(...(await Promise.all(items.slice(start, start + size).map(work))));
  return results;
}

const show = (result: RunResult) => `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;

/** `exec node --import tsx <file>.ts`, or `... scripts/tool.ts <its own name>` for one that runs a tool behind our command line. */
const OUR_COMMAND = /^exec node --import tsx (\S+\.ts)(?: (\S+))?$/;

/** Each package.json script with the file and arguments its command runs. */
async function scripts(): Promise<{ name: string; command: string; entry: string[] }[]> {
  const { scripts } = JSON.parse(await readFile('package.json', 'utf8')) as { scripts: Record<string, string> };
  return Object.entries(scripts).map(([name, command]) => ({ name, command, entry: command.replace('exec node --import tsx ', '').split(' ') }));
}

/** `node --import tsx <file> <script's own arguments> ...args`, as the script runs it. */
const runScriptEntry = ({ entry: [file = '', ...scriptArgs] }: { entry: string[] }, args: string[]) => runEntry(file, [...scriptArgs, ...args]);

describe('every package.json script', () => {
  it('runs our command line under node itself, a tool behind scripts/tool.ts', async () => {
    for (const { name, command } of await scripts()) {
      // Long-lived scripts run under node itself: tsx's CLI relays Ctrl-C and kills its child about 30 ms later.
      const [, file, toolScript] = OUR_COMMAND.exec(command) ?? [];
      expect(file, `${name}: ${command}`).toBeDefined();
      if (toolScript !== undefined) expect([file, toolScript], name).toEqual(['scripts/tool.ts', name]);
    }
  });

  it('answers --help with its usage and exit 0', async () => {
    // Through npm once, as a user types it: npm hands the arguments after -- to the script.
    const viaNpm = await runNpmScript('token', ['--help']);
    expect(viaNpm.code, show(viaNpm)).toBe(0);
    expect(viaNpm.stdout).toMatch(/^usage: npm run token/);
    // Then each entry straight through node, a few at a time: npm would double every run's CPU.
    const all = await scripts();
    const results = await inBatches(all, 3, (script) => runScriptEntry(script, ['--help']));
    results.forEach((result, i) => {
      const { name } = all[i]!;
      expect(result.code, `${name}: ${show(result)}`).toBe(0);
      expect(result.stdout, name).toMatch(/^usage: npm (start|test|run \S+)/);
    });
    // Nineteen short processes; minutes on a machine loaded many times over.
  }, 300_000);

  it('refuses an unknown option with the usage and exit 2, before doing anything', async () => {
    const all = await scripts();
    const results = await inBatches(all, 3, (script) => runScriptEntry(script, ['--no-such-option']));
    results.forEach((result, i) => {
      const { name } = all[i]!;
      expect(result.code, `${name}: ${show(result)}`).toBe(2);
      expect(result.stderr, name).toMatch(/^Unknown option '--no-such-option'\n\nusage: npm (start|test|run \S+)/);
      expect(result.stderr, name).not.toMatch(STACK_LINE);
      expect(result.stdout, `${name} did something`).toBe('');
    });
  }, 300_000);
});

describe('tool scripts', () => {
  const toolScript = (name: string, args: string[]) => runEntry('scripts/tool.ts', [name, ...args]);
  let dir: string;
  let unformatted: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tool-scripts-'));
    unformatted = join(dir, 'unformatted.ts');
    await writeFile(unformatted, 'export const   x = {a:1}\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('hand the files given to the tool, and exit with its code', async () => {
    const formatted = await toolScript('format:check', ['package.json']);
    expect(formatted.code, show(formatted)).toBe(0);
    const notFormatted = await toolScript('format:check', [unformatted]);
    expect(notFormatted.code, show(notFormatted)).toBe(1);
    expect(notFormatted.stderr).toContain('unformatted.ts');
  }, 120_000);

  it('hand the accepted options to the tool, spelled as it reads them', async () => {
    const report = await toolScript('lint:deps', ['--output-type', 'json']);
    expect(report.code, show(report)).toBe(0);
    const { summary } = JSON.parse(report.stdout) as { summary: { violations: unknown[]; totalCruised: number } };
    expect(summary.violations).toEqual([]);
    expect(summary.totalCruised).toBeGreaterThan(100);
  }, 120_000);

  it('run nothing for --help, nor for a positional where none is taken or one that looks like an option', async () => {
    const help = await toolScript('format', ['--help', unformatted]);
    expect(help.code, show(help)).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run format/);
    expect(await readFile(unformatted, 'utf8')).toBe('export const   x = {a:1}\n');

    const positional = await toolScript('typecheck', ['src']);
    expect(positional.code, show(positional)).toBe(2);
    expect(positional.stderr).toMatch(/^Unexpected argument 'src'.*\n\nusage: npm run typecheck/);

    const dashed = await toolScript('format', ['--', '--no-such-option']);
    expect(dashed.code, show(dashed)).toBe(2);
    expect(dashed.stderr).toMatch(/^'--no-such-option' is not a file or filter: .*\n\nusage: npm run format/);
  }, 120_000);

  it('refuse a tool script it does not know, in one line', async () => {
    const unknown = await runEntry('scripts/tool.ts', ['no-such-script']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^scripts\/tool\.ts: no tool script named "no-such-script"; there are test, /)]);
  }, 60_000);
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
