import { loadConfig, type Config } from '../config.ts';
import { applyEnvFile, type EnvFileResult } from './env-file.ts';

/**
 * The settings of the hub or a script: `.env` in the working directory
 * first, the environment over it, then `overrides` over both. Throws a
 * ConfigError listing every problem.
 */
export function loadSettings(overrides: Record<string, string | undefined> = {}): { config: Config; envFile: EnvFileResult } {
  const envFile = applyEnvFile('.env');
  return { config: loadConfig({ ...process.env, ...overrides }), envFile };
}
