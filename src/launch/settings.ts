import { loadConfig, type Config } from '../config.ts';
import { applyEnvFile, type EnvFileResult } from './env-file.ts';

/** The .env file to read: ENV_FILE from the environment (`none` for none), else `.env` in the working directory. */
export function envFilePath(env: NodeJS.ProcessEnv = process.env): string | null {
  const chosen = env.ENV_FILE || '.env';
  return chosen === 'none' ? null : chosen;
}

/**
 * The settings of the hub or a script: the .env file first, the environment
 * over it, then `overrides` over both. Throws a ConfigError listing every
 * problem.
 */
export function loadSettings(overrides: Record<string, string | undefined> = {}): { config: Config; envFile: EnvFileResult } {
  const path = envFilePath();
  const envFile = path ? applyEnvFile(path) : { path: null, applied: [] };
  return { config: loadConfig({ ...process.env, ...overrides }), envFile };
}
