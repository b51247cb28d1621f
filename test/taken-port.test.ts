import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listen, ListenError } from '../src/transport/listen.ts';
import { uws, type us_listen_socket } from '../src/transport/uws.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../tools/testkit/database.ts';
import { freePort } from '../tools/testkit/free-port.ts';
import { HubProcess } from '../tools/testkit/hub-process.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../tools/testkit/redis.ts';
import { REPO_ROOT, runEntry, STACK_LINE, TSX_LOADER } from './support/run-entry.ts';
import { stringMatching } from './support/matchers.ts';

/** A port held by a plain Node server, as another program would hold it. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

const held: Server[] = [];
const listening: us_listen_socket[] = [];
afterEach(async () => {
  for (const socket of listening.splice(0)) uws.us_listen_socket_close(socket);
  await Promise.all(held.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

describe('listen', () => {
  it('refuses a port another program holds, naming the port and what to do', async () => {
    const { port, server } = await holdPort();
    held.push(server);
    const failure = await listen(uws.App(), { host: '127.0.0.1', port, sharePort: false }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ListenError);
    expect(failure).toMatchObject({ code: 'port_in_use', port });
    expect((failure as Error).message).toBe(
      `PORT ${port} is already in use on 127.0.0.1 (another hub or program listens there): stop it, or set another PORT (PORT=0 picks a free one); HUB_SHARE_PORT=true shares a port between hub processes on purpose`,
    );
  });

  it('does not share a port with a second hub unless both ask for it', async () => {
    const port = await freePort();
    listening.push(await listen(uws.App(), { host: '127.0.0.1', port, sharePort: false }));
    await expect(listen(uws.App(), { host: '127.0.0.1', port, sharePort: false })).rejects.toMatchObject({ code: 'port_in_use' });
    // A newcomer that wants to share cannot join a hub that did not.
    await expect(listen(uws.App(), { host: '127.0.0.1', port, sharePort: true })).rejects.toMatchObject({ code: 'port_in_use' });
  });

  it('shares a port between hubs that are configured to (HUB_SHARE_PORT)', async () => {
    const port = await freePort();
    listening.push(await listen(uws.App(), { host: '127.0.0.1', port, sharePort: true }));
    listening.push(await listen(uws.App(), { host: '127.0.0.1', port, sharePort: true }));
    expect(listening.map((socket) => uws.us_socket_local_port(socket))).toEqual([port, port]);
  });

  it('names HOST when it is not an address of this machine', async () => {
    // 192.0.2.0/24 is TEST-NET-1: documentation only, never assigned to a host.
    await expect(listen(uws.App(), { host: '192.0.2.1', port: 0, sharePort: false })).rejects.toMatchObject({
      code: 'host_not_local',
      message: stringMatching(/^HOST 192\.0\.2\.1 is not an address of this machine/),
    });
  });
});

describe('the hub on a taken port', () => {
  let db: PrivateDatabase;
  const prefix = uniquePrefix('taken-port');
  const hubs: HubProcess[] = [];
  beforeAll(async () => {
    db = await createPrivateDatabase({ prefix: 'taken_port' });
  });
  afterAll(async () => {
    await Promise.all(hubs.map((hub) => hub.kill()));
    await Promise.allSettled([db.drop(), dropPrefix(prefix)]);
  });

  it('exits 1 with one line naming the port and what to do', async () => {
    const { port, server } = await holdPort();
    held.push(server);
    const result = await runEntry('src/main.ts', [], { env: { DATABASE_URL: db.url, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent' } });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `PORT ${port} is already in use on 127.0.0.1 (another hub or program listens there): stop it, or set another PORT (PORT=0 picks a free one); HUB_SHARE_PORT=true shares a port between hub processes on purpose`,
    );
    expect(result.stderr).not.toMatch(STACK_LINE);
  }, 180_000);

  it('fails before an embedded hub creates, migrates or seeds its database, and so does a foreign HOST', async () => {
    const { port, server } = await holdPort();
    held.push(server);
    const dataDir = join(await mkdtemp(join(tmpdir(), 'taken-port-')), 'data');
    try {
      const result = await runEntry('src/main.ts', [], { env: { DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'silent' } });
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toMatch(new RegExp(`^PORT ${port} is already in use on 127\\.0\\.0\\.1 `));
      expect(existsSync(dataDir)).toBe(false);
      // PORT=0 is no excuse: a HOST that is not this machine's fails as early (192.0.2.0/24 is documentation only).
      const foreign = await runEntry('src/main.ts', [], { env: { DATA_DIR: dataDir, HOST: '192.0.2.1', PORT: '0', LOG_LEVEL: 'silent' } });
      expect(foreign.code).toBe(1);
      expect(foreign.stderr.trim()).toMatch(/^HOST 192\.0\.2\.1 is not an address of this machine/);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await rm(dirname(dataDir), { recursive: true, force: true });
    }
  }, 180_000);

  it('lets a second hub process listen on the same port when both set HUB_SHARE_PORT=true', async () => {
    const env = { DATABASE_URL: db.url, REDIS_URL: SHARED_REDIS_URL, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'warn', HUB_SHARE_PORT: 'true' };
    const first = await HubProcess.start({ env, label: 'shared-1', readyTimeoutMs: 150_000 });
    hubs.push(first);
    // The second gets the first one's port, not a fresh one: the kernel then spreads connections over both.
    const second = spawn(process.execPath, ['--import', TSX_LOADER, 'src/main.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: 'none', ...env, HOST: '127.0.0.1', PORT: String(first.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    second.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => second.once('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => stderr, { timeout: 150_000, interval: 100 }).toContain(`dispatch hub ready: map http://localhost:${first.port}/`);
    } finally {
      second.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    // Two hub starts: seconds each here, minutes on a machine loaded many times over.
  }, 330_000);
});
