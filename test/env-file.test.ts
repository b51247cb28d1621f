import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtVerify } from 'jose';
import { applyEnvFile } from '../src/launch/env-file.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { freePort } from '../tools/testkit/free-port.ts';
import { REPO_ROOT, runEntry, TSX_LOADER } from './support/run-entry.ts';

const SECRET = 'secret-from-the-dot-env-file-0123456789abcdef';

describe('applyEnvFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'env-file-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('fills in what the environment leaves unset; the environment wins', async () => {
    const file = join(dir, '.env');
    await writeFile(file, '# a comment\nPORT=18081\nLOG_LEVEL=debug\nHOST=\'127.0.0.1\'\nDATA_DIR="./my data"\nEMPTY_IN_ENV=from-file\n');
    const env: NodeJS.ProcessEnv = { LOG_LEVEL: 'warn', EMPTY_IN_ENV: '' };
    const result = applyEnvFile(file, env);
    expect(env).toEqual({ PORT: '18081', LOG_LEVEL: 'warn', HOST: '127.0.0.1', DATA_DIR: './my data', EMPTY_IN_ENV: 'from-file' });
    expect(result.path).toBe(file);
    expect(result.applied.sort()).toEqual(['DATA_DIR', 'EMPTY_IN_ENV', 'HOST', 'PORT']);
  });

  it('is no error when the file is absent', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(applyEnvFile(join(dir, 'absent.env'), env)).toEqual({ path: null, applied: [] });
    expect(env).toEqual({});
  });
});

describe('.env in the working directory', () => {
  let dir: string;
  let db: PrivateDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'env-cwd-'));
    db = await createPrivateDatabase({ prefix: 'env_file' });
  });
  afterAll(() => Promise.allSettled([rm(dir, { recursive: true, force: true }), db.drop()]));

  /** The hub started from `dir` (where .env is), until its banner; then SIGTERM. Resolves with the banner. */
  async function bannerOfHubIn(env: Record<string, string>): Promise<string> {
    const hub = spawn(process.execPath, ['--import', TSX_LOADER, join(REPO_ROOT, 'src/main.ts')], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    hub.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => hub.once('exit', resolve));
    try {
      await expect.poll(() => stderr, { timeout: 120_000, interval: 100 }).toMatch(/dispatch hub ready: .*\n/);
    } finally {
      hub.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    return stderr.split('\n').find((line) => line.startsWith('dispatch hub ready'))!;
  }

  it('sets the hub up, and a variable set in the environment wins over it', async () => {
    const [filePort, envPort] = await Promise.all([freePort(), freePort()]);
    await writeFile(join(dir, '.env'), `DATABASE_URL=${db.url}\nHOST=127.0.0.1\nPORT=${filePort}\nLOG_LEVEL=silent\n`);
    expect(await bannerOfHubIn({})).toContain(`map http://localhost:${filePort}/ · `);
    const banner = await bannerOfHubIn({ PORT: String(envPort) });
    expect(banner).toContain(`map http://localhost:${envPort}/ · `);
    expect(banner).toContain(`PostgreSQL 127.0.0.1:5432/${db.name}`);
  }, 300_000);

  it('is read by the scripts too', async () => {
    await writeFile(join(dir, '.env'), `AUTH_SECRET=${SECRET}\n`);
    const result = await runEntry('scripts/token.ts', ['--role', 'rider', '--id', 'r1'], { cwd: dir, env: { ENV_FILE: '.env' } });
    expect(result.code).toBe(0);
    const { payload } = await jwtVerify(result.stdout.trim(), new TextEncoder().encode(SECRET));
    expect(payload).toMatchObject({ sub: 'r1', role: 'rider' });
  }, 180_000);
});
