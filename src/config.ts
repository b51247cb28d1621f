import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Every setting of the hub, read from the environment once at start.
 * Names are the environment variable names; defaults are production-sane.
 */
export const configSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: int(0, 65535).default(8080),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

    DATABASE_URL: z.string().url().optional(),
    REDIS_URL: z.string().url().optional(),
    /** Embedded mode (PGlite + in-process index) when no DATABASE_URL is set. */
    ALLOW_EMBEDDED: bool.optional(),
    DATA_DIR: z.string().min(1).default('./.data'),
    /** Prefix for every Redis key, so several hubs or test runs can share one Redis. */
    REDIS_KEY_PREFIX: z.string().default('hub:'),
    PG_POOL_SIZE: int(1, 100).default(10),
    /** Longest a database statement may run before it fails (server side, and client side shortly after). */
    PG_STATEMENT_TIMEOUT_MS: int(100, 600_000).default(5000),
    /** Longest a new database connection may take to open: an unreachable server fails fast instead of hanging a flush. */
    PG_CONNECT_TIMEOUT_MS: int(100, 60_000).default(2000),
    /** Longest /readyz waits on a store before it reports that store down. */
    READINESS_TIMEOUT_MS: int(50, 60_000).default(1000),

    BATCH_MAX_FRAMES: int(1, 100_000).default(2000),
    BATCH_FLUSH_MS: int(1, 10_000).default(50),
    /** Frames queued or in flight before new ones get `overloaded`. */
    PENDING_MAX_FRAMES: int(1, 10_000_000).default(100_000),

    REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000).default(250),
    /** How often a degraded Redis is probed before reads switch back to it. */
    REDIS_PROBE_INTERVAL_MS: int(50, 60_000).default(250),
    PROFILE_REFRESH_MS: int(100, 3_600_000).default(2000),
    RECONCILE_INTERVAL_MS: int(1000, 86_400_000).default(60_000),
    /** How often the hub vacuums the drivers table, which every batch rewrites; 0 leaves it to autovacuum. */
    POSITIONS_VACUUM_INTERVAL_MS: int(0, 3_600_000).default(2000),
    /** A driver silent for this long is left out of nearby results and dropped from the index. */
    STALE_AFTER_MS: int(1000, 86_400_000 * 365).default(30_000),
    SHUTDOWN_DEADLINE_MS: int(100, 600_000).default(10_000),

    WS_MAX_PAYLOAD_BYTES: int(256, 1_048_576).default(4096),
    WS_IDLE_TIMEOUT_S: int(8, 960).default(60),
    /** Outbound bytes buffered per socket before results for it are dropped. */
    WS_MAX_BACKPRESSURE_BYTES: int(1024, 64 * 1_048_576).default(256 * 1024),
    /** Sockets whose outbound buffer stays over WS_MAX_BACKPRESSURE_BYTES this long are closed with 4008. */
    WS_SLOW_CLOSE_MS: int(100, 600_000).default(10_000),

    /** HS256 secret for access tokens (at least 32 characters). Unset: open mode, refused in production. */
    AUTH_SECRET: z.string().min(32).optional(),
    /** The secret before the last rotation: tokens signed with it stay valid until they expire. */
    AUTH_PREVIOUS_SECRET: z.string().min(32).optional(),
    /** Per-connection token buckets: sustained rate and burst, in messages. The driver burst lets an app that was offline for minutes send its backlog at once. */
    DRIVER_FRAMES_PER_S: int(1, 100_000).default(20),
    DRIVER_FRAME_BURST: int(1, 1_000_000).default(300),
    RIDER_QUERIES_PER_S: int(1, 100_000).default(10),
    RIDER_QUERY_BURST: int(1, 1_000_000).default(20),
    /** A connection refused this many messages per RATE_LIMIT_ABUSE_WINDOW_MS (on average) is closed with 1008. */
    RATE_LIMIT_ABUSE_REFUSALS: int(1, 1_000_000).default(100),
    RATE_LIMIT_ABUSE_WINDOW_MS: int(100, 3_600_000).default(10_000),
    /** Open and opening WebSocket connections per hub; the next upgrade gets 503. */
    MAX_CONNECTIONS: int(1, 1_000_000).default(15_000),
    /** Open and opening connections per verified identity; the next gets 429. At least 2, so a reconnecting driver can take over its old socket. */
    MAX_CONNECTIONS_PER_IDENTITY: int(2, 10_000).default(4),

    /** Drivers seeded into an empty embedded database on first start. */
    EMBEDDED_SEED_DRIVERS: int(0, 1_000_000).default(2000),
  })
  .superRefine((config, ctx) => {
    if (config.REDIS_URL && !config.DATABASE_URL) {
      ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'REDIS_URL needs DATABASE_URL as well' });
    }
    if (config.NODE_ENV === 'production' && !config.AUTH_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_SECRET'], message: 'is required when NODE_ENV=production (open mode is for development only)' });
    }
    if (config.AUTH_PREVIOUS_SECRET && !config.AUTH_SECRET) {
      ctx.addIssue({ code: 'custom', path: ['AUTH_PREVIOUS_SECRET'], message: 'needs AUTH_SECRET as well' });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** Parses the environment, throwing one readable error that lists every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = configSchema.safeParse(cleaned);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`);
  throw new Error(`Invalid configuration:\n${lines.join('\n')}`);
}
