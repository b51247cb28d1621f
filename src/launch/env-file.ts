import { readFileSync } from 'node:fs';
// A namespace import, not a named one: on a Node without parseEnv a named import fails at link
// time, before check-node.ts could say which Node to use.
import util from 'node:util';

export interface EnvFileResult {
  /** The file read, or null when there was none. */
  path: string | null;
  /** Names taken from the file; names already set in the environment are not among them. */
  applied: string[];
}

/**
 * Reads a `.env` file (KEY=value lines, as in `.env.example`) into `env`.
 * The environment wins: a variable already set to a non-empty value is left
 * as it is, so `PORT=9000 npm start` overrides `PORT` in `.env`. A missing
 * file is not an error; an unreadable one is.
 */
export function applyEnvFile(path = '.env', env: NodeJS.ProcessEnv = process.env): EnvFileResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { path: null, applied: [] };
    throw new EnvFileError(path, (error as Error).message);
  }
  const applied: string[] = [];
  for (const [name, value] of Object.entries(util.parseEnv(text))) {
    if (env[name] !== undefined && env[name] !== '') continue;
    env[name] = value;
    applied.push(name);
  }
  return { path, applied };
}

export class EnvFileError extends Error {
  readonly code = 'env_file_unreadable';
  constructor(path: string, reason: string) {
    super(`${path}: cannot read it (${reason}): fix its permissions or remove it`);
    this.name = 'EnvFileError';
  }
}
