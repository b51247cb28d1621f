import { loadConfig } from '../../src/config.ts';
import { startHub, type Hub } from '../../src/hub.ts';
import { createLogger, type Logger } from '../../src/logger.ts';
import { createPrivateDatabase, type PrivateDatabase } from '../../tools/testkit/database.ts';
import { dropPrefix, SHARED_REDIS_URL, uniquePrefix } from '../../tools/testkit/redis.ts';

export interface TestHub {
  hub: Hub;
  db: PrivateDatabase;
  redisUrl: string;
  prefix: string;
  wsUrl(path: string): string;
  httpUrl(path: string): string;
  close(): Promise<void>;
}

/**
 * A hub in this process on an ephemeral port, with its own database and
 * Redis key prefix. `env` overrides any setting.
 */
export async function startTestHub(label: string, env: Record<string, string> = {}, options: { logger?: Logger } = {}): Promise<TestHub> {
  const db = await createPrivateDatabase();
  const prefix = uniquePrefix(label);
  const redisUrl = env.REDIS_URL ?? SHARED_REDIS_URL;
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const hub = await startHub(config, { logger: options.logger ?? createLogger(config.LOG_LEVEL, { test: label }) });
  return {
    hub,
    db,
    redisUrl,
    prefix,
    wsUrl: (path) => `ws://127.0.0.1:${hub.port}${path}`,
    httpUrl: (path) => `http://127.0.0.1:${hub.port}${path}`,
    async close() {
      await hub.close();
      await Promise.allSettled([db.drop(), dropPrefix(prefix, redisUrl)]);
    },
  };
}
