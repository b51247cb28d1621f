import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort } from './free-port.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = 'src/main.ts';
/** Output kept per process, for the failure message of whoever needs it. */
const OUTPUT_LIMIT = 64 * 1024;
const STOP_TIMEOUT_MS = 20_000;

export interface HubExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the process ended, by Date.now(). */
  at: number;
}

export interface HubProcessOptions {
  /** The hub's settings; on top of PATH, HOME, HOST and PORT, and nothing else from this process's environment. */
  env: Record<string, string>;
  /** Names the process in error messages. */
  label?: string;
  /** `/healthz` (the process serves) or `/readyz` (its stores are connected too). */
  readyPath?: '/healthz' | '/readyz';
  readyTimeoutMs?: number;
  /** Where `--cpu-prof` writes the hub's profile on exit; no profiling when undefined. */
  cpuProfileDir?: string;
  /** The hub's whole log (stdout and stderr) is appended here. */
  logFile?: string;
  /**
   * Opens the V8 inspector on a loopback port of the kernel's choosing, so
   * a caller can ask for a full garbage collection before it reads the
   * hub's memory (see collectGarbage).
   */
  inspector?: boolean;
}

/**
 * The real hub as production runs it: `node --import tsx src/main.ts` in a
 * process of its own (so the pid is the hub's and /proc describes it alone)
 * on a free port, configured only through its environment.
 */
export class HubProcess {
  /** Resolves when the process has ended. */
  readonly exited: Promise<HubExit>;
  private recent = '';
  private inspectorUrl: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly label: string,
    logFile: string | undefined,
  ) {
    const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    this.exited = new Promise<HubExit>((resolve) => {
      child.once('exit', (code, signal) => {
        log?.end();
        resolve({ code, signal, at: Date.now() });
      });
    });
    const keep = (chunk: Buffer) => {
      log?.write(chunk);
      const text = chunk.toString('utf8');
      this.inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1];
      this.recent = (this.recent + text).slice(-OUTPUT_LIMIT);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(options: HubProcessOptions): Promise<HubProcess> {
    const port = await freePort();
    const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    const inspector = options.inspector ? ['--inspect=127.0.0.1:0'] : [];
    const child = spawn(process.execPath, ['--import', 'tsx', ...profiling, ...inspector, MAIN], {
      cwd: REPO_ROOT,
      // ENV_FILE=none: a developer's .env must not leak settings into a test's hub.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: 'none', ...options.env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const hub = new HubProcess(child, port, options.label ?? 'hub', options.logFile);
    try {
      await hub.waitUntilReady(options.readyPath ?? '/healthz', options.readyTimeoutMs ?? 60_000);
    } catch (error) {
      await hub.kill();
      throw error;
    }
    return hub;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  wsUrl(path: string): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  httpUrl(path: string): string {
    return `${this.url}${path}`;
  }

  /** Its recent stdout and stderr (structured logs), labelled. */
  output(): string {
    return `[${this.label}] ${this.recent}`;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** SIGKILL, then waits for the end: a crash, or the cleanup of a test that left it running. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and a graceful drain; SIGKILL if that takes longer than STOP_TIMEOUT_MS. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const force = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    this.child.kill('SIGTERM');
    await this.exited;
    clearTimeout(force);
  }

  /** A full garbage collection in the hub, through the V8 inspector: what is left is what the hub really holds. */
  async collectGarbage(): Promise<void> {
    const url = this.inspectorUrl;
    if (!url) throw new Error('the hub was started without its inspector');
    const socket = new WebSocket(url);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('open', () => socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })));
        socket.on('message', (data: Buffer) => {
          if ((JSON.parse(data.toString('utf8')) as { id?: number }).id === 1) resolve();
        });
        socket.once('error', reject);
      });
    } finally {
      socket.close();
    }
  }

  async fetchText(path: string): Promise<string> {
    const response = await fetch(this.httpUrl(path));
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
    return response.text();
  }

  private async waitUntilReady(path: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`hub exited while starting:\n${this.output()}`);
      const ready = await fetch(this.httpUrl(path)).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`hub did not answer ${path} within ${timeoutMs} ms:\n${this.output()}`);
  }
}
