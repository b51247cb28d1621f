import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** tsx's loader by absolute URL, so an entry point runs from any working directory (a test's own, with its own .env). */
export const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** On top of PATH and HOME only, with ENV_FILE=none unless given: nothing else leaks in from the test's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Killed (SIGKILL) after this long; the result then shows signal SIGKILL. */
  timeoutMs?: number;
}

function collect(command: string, args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ENV_FILE: 'none', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `node --import tsx <file> ...args`, the way package.json runs it; `file` is relative to the repository. */
export function runEntry(file: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
  return collect(process.execPath, ['--import', TSX_LOADER, fileURLToPath(new URL(file, pathToFileURL(REPO_ROOT))), ...args], options);
}

/** `npm run -s <script> -- ...args` in the repository: what a user types. */
export function runNpmScript(script: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
  return collect('npm', ['run', '-s', script, '--', ...args], options);
}

/** A stack trace line, which a user-facing error must never show. */
export const STACK_LINE = /^\s+at .+\(?.*:\d+:\d+\)?$/m;
