import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freePort } from './free-port.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
const READY_TIMEOUT_MS = 120_000;
const STOP_TIMEOUT_MS = 20_000;
const LOG_TAIL_LINES = 40;

export interface HubProcessOptions {
  env: Record<string, string>;
  /** Where `--cpu-prof` writes the hub's profile on exit; no profiling when undefined. */
  cpuProfileDir?: string;
  /** The hub's whole log (stdout and stderr) is appended here. */
  logFile?: string;
  /**
   * Opens the V8 inspector on a loopback port of the kernel's choosing, so
   * the benchmark can ask for a full garbage collection before it reads the
   * hub's memory (see collectGarbage).
   */
  inspector?: boolean;
}

/**
 * The hub as production runs it: its own process (`node --import tsx
 * src/main.ts`, so the pid is the hub's own and /proc describes it alone),
 * configured only through its environment.
 */
export class HubProcess {
  private readonly logTail: string[] = [];
  private inspectorUrl: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    logFile: string | undefined,
  ) {
    const log = logFile ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    child.once('exit', () => log?.end());
    const keep = (chunk: Buffer) => {
      log?.write(chunk);
      this.inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(chunk.toString('utf8'))?.[1];
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        this.logTail.push(line);
        if (this.logTail.length > LOG_TAIL_LINES) this.logTail.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(options: HubProcessOptions): Promise<HubProcess> {
    const port = await freePort();
    const profiling = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
    const inspector = options.inspector ? ['--inspect=127.0.0.1:0'] : [];
    const child = spawn(process.execPath, ['--import', 'tsx', ...profiling, ...inspector, MAIN], {
      env: { ...process.env, ...options.env, HOST: '127.0.0.1', PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const hub = new HubProcess(child, port, options.logFile);
    await hub.waitUntilReady();
    return hub;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The last lines the hub logged: shown when something goes wrong. */
  get recentLog(): string {
    return this.logTail.join('\n');
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
    const response = await fetch(`${this.url}${path}`);
    if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
    return response.text();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => this.child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      this.child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      this.child.kill('SIGTERM');
    });
  }

  private async waitUntilReady(): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`hub exited with ${this.child.exitCode} while starting:\n${this.recentLog}`);
      const ready = await fetch(`${this.url}/readyz`).then(
        (response) => response.ok,
        () => false,
      );
      if (ready) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`hub not ready after ${READY_TIMEOUT_MS} ms:\n${this.recentLog}`);
  }
}
