import { spawn, type ChildProcess } from 'node:child_process';
import { createClient } from 'redis';
import { freePort } from './free-port.ts';

const START_TIMEOUT_MS = 10_000;

export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port, empty: what a Redis restart without persistence looks like. */
  restart(): Promise<void>;
}

/**
 * A redis-server of the caller's own on a free port, without persistence,
 * so fault tests and the benchmark's SQL-fallback hub can kill it; the
 * shared Redis is never touched.
 */
export interface PrivateRedisOptions {
  /**
   * Runs redis-server under `nice -n <niceness>`. A negative value keeps it
   * ahead of the machine's other work, for a test that must tell the hub's
   * own delays from a Redis starved of CPU on a shared, overloaded machine.
   */
  niceness?: number;
}

export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
    const started =
      options.niceness === undefined
        ? spawn('redis-server', args, { stdio: 'ignore' })
        : spawn('nice', ['-n', String(options.niceness), 'redis-server', ...args], { stdio: 'ignore' });
    child = started;
    const spawnFailed = new Promise<never>((_, reject) =>
      started.once('error', (error) => reject(new Error(`redis-server could not start: ${error.message}`))),
    );
    spawnFailed.catch(() => undefined);
    await Promise.race([waitForPing(url, started), spawnFailed]);
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await launch();
  return {
    url,
    port,
    stop,
    async restart() {
      await stop();
      await launch();
    },
  };
}

async function waitForPing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 500 } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      await client.close();
      return;
    } catch (error) {
      if (client.isOpen) client.destroy();
      if (Date.now() > deadline || child.exitCode !== null) {
        throw new Error(`private redis-server at ${url} did not come up: ${(error as Error).message}`, { cause: error });
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
