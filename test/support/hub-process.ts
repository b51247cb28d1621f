import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './redis.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Output kept per process, for the failure message of a test that needs it. */
const OUTPUT_LIMIT = 64 * 1024;

export interface HubExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the process ended, by Date.now(). */
  at: number;
}

export interface HubProcess {
  readonly port: number;
  readonly pid: number;
  wsUrl(path: string): string;
  httpUrl(path: string): string;
  /** Resolves when the process has ended. */
  readonly exited: Promise<HubExit>;
  signal(signal: NodeJS.Signals): void;
  /** Its recent stdout and stderr (structured logs). */
  output(): string;
}

async function waitForHealth(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`hub exited during start:\n${output()}`);
    const healthy = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`hub did not become healthy within ${timeoutMs} ms:\n${output()}`);
}

/**
 * The real hub (`src/main.ts`) as a child process on a free port, with the
 * given environment on top of test defaults. Resolves once /healthz answers.
 */
export async function startHubProcess(env: Record<string, string>, label: string): Promise<HubProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<HubExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  const readOutput = () => `[${label}] ${output}`;
  try {
    await waitForHealth(`http://127.0.0.1:${port}/healthz`, child, readOutput, 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    port,
    pid: child.pid as number,
    wsUrl: (path) => `ws://127.0.0.1:${port}${path}`,
    httpUrl: (path) => `http://127.0.0.1:${port}${path}`,
    exited,
    signal: (signal) => child.kill(signal),
    output: readOutput,
  };
}

/** Ends a hub process that a test left running: SIGKILL, then wait for it. */
export async function killHubProcess(hub: HubProcess | undefined): Promise<void> {
  if (!hub) return;
  hub.signal('SIGKILL');
  await hub.exited;
}
