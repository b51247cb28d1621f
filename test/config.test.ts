import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configTableMarkdown, envExample, settingDocs } from '../src/config-docs.ts';
import { busEnabled } from '../src/app/bus.ts';
import { loadConfig } from '../src/config.ts';

describe('configuration', () => {
  it('applies production-sane defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ PORT: 8080, BATCH_MAX_FRAMES: 2000, BATCH_FLUSH_MS: 50, STALE_AFTER_MS: 30_000, LOG_LEVEL: 'info' });
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('lists every bad variable in one readable error', () => {
    expect(() => loadConfig({ PORT: 'eighty', BATCH_MAX_FRAMES: '0', LOG_LEVEL: 'loud' })).toThrow(
      /Invalid configuration:\n {2}PORT: .*\n {2}LOG_LEVEL: .*\n {2}BATCH_MAX_FRAMES: .*/,
    );
  });

  it('refuses open mode in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://x@127.0.0.1/db' })).toThrow(/AUTH_SECRET: is required/);
  });

  it('runs the cross-process bus only on Redis: on by default with it, refused without it', () => {
    expect(() => loadConfig({ HUB_BUS: 'true' })).toThrow(/HUB_BUS: needs REDIS_URL or REDIS_CLUSTER_NODES/);
    expect(busEnabled(loadConfig({}))).toBe(false);
    const withRedis = { DATABASE_URL: 'postgres://x@127.0.0.1/db', REDIS_URL: 'redis://127.0.0.1:6379' };
    expect(busEnabled(loadConfig(withRedis))).toBe(true);
    expect(busEnabled(loadConfig({ ...withRedis, HUB_BUS: 'false' }))).toBe(false);
  });

  it('documents every setting, and the README table and .env.example are current (npm run config:docs)', async () => {
    for (const setting of settingDocs()) expect(setting.description, setting.name).not.toBe('');
    const readme = await readFile('README.md', 'utf8');
    expect(readme).toContain(configTableMarkdown());
    expect(await readFile('.env.example', 'utf8')).toBe(envExample());
  });
});
