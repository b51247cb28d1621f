import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false (or 1/0, yes/no)' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');
const int = (min: number, max: number) => {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
const decimal = (min: number, max: number) => {
  const error = `must be a number from ${min} to ${max}`;
  return z.coerce.number({ error }).min(min, { error }).max(max, { error });
};

/**
 * Every setting of the hub, read from the environment once at start.
 * Names are the environment variable names; defaults are production-sane.
 */
export const configSchema = z
  .object({
    NODE_ENV: z
      .enum(['development', 'production', 'test'])
      .default('development')
      .describe('development, production or test. Production refuses open auth and embedded mode (unless ALLOW_EMBEDDED).'),
    HOST: z.string().min(1).default('0.0.0.0').describe('Interface to listen on.'),
    PORT: int(0, 65535)
      .default(8080)
      .describe('HTTP and WebSocket port (0 picks a free one). A port another process holds is an error unless HUB_SHARE_PORT is on.'),
    HUB_SHARE_PORT: bool
      .default(false)
      .describe(
        'Let several hub processes listen on the same PORT on purpose (SO_REUSEPORT: the kernel spreads connections over them). Off: a taken port stops the hub with an error.',
      ),
    HUB_WORKERS: int(1, 64)
      .default(1)
      .describe(
        'Hub processes `npm start` runs on the one PORT, supervised: each worker is a whole hub, the kernel spreads connections over them (SO_REUSEPORT), a worker that dies is restarted. More than 1 needs DATABASE_URL, REDIS_URL (or REDIS_CLUSTER_NODES) and the bus (HUB_BUS not false): the embedded database and the in-process geo index belong to one process, and the bus carries pushes between workers.',
      ),
    ENV_FILE: z
      .string()
      .default('.env')
      .describe('The .env file read at start, relative to the working directory; `none` reads none. Variables set in the environment win over the file.'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('pino log level: fatal, error, warn, info, debug, trace or silent.'),

    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: 'must be a URL like postgres://user@host:5432/dbname' })
      .optional()
      .describe('PostgreSQL URL. Unset: embedded PGlite in DATA_DIR with the in-process geo index.'),
    REDIS_URL: z
      .url({ protocol: /^rediss?$/, error: 'must be a URL like redis://host:6379' })
      .optional()
      .describe('Redis URL for the geo index. Unset: the in-process index.'),
    REDIS_CLUSTER_NODES: z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'must be host:port,host:port,...')
      .transform((value) => value.split(','))
      .optional()
      .describe(
        'Redis Cluster seed nodes (host:port,host:port,...) for the geo index, instead of REDIS_URL: the index is split by cell over the masters. The nodes need cluster-require-full-coverage no, so that a dead master takes only its own cells out of service.',
      ),
    ALLOW_EMBEDDED: bool.optional().describe('Allow embedded mode when NODE_ENV=production.'),
    DATA_DIR: z.string().min(1).default('./.data').describe('Embedded mode: where PGlite keeps its data (one hub per directory).'),
    REDIS_KEY_PREFIX: z.string().default('hub:').describe('Prefix for every Redis key, so several deployments or test runs can share one Redis.'),
    HUB_BUS: bool
      .optional()
      .describe(
        "Cross-process bus through Redis pub/sub (sharded on a cluster): hub processes sharing a Redis behave as one hub (pushes reach sockets on other processes, a driver's newer socket elsewhere takes over, live nearby sees drivers streaming to other processes). Default: on when REDIS_URL or REDIS_CLUSTER_NODES is set.",
      ),
    BUS_PRESENCE_TTL_MS: int(1000, 600_000)
      .default(15_000)
      .describe('Who is connected to which hub process expires after this long unless the process refreshes it (a third of it between refreshes).'),
    PG_POOL_SIZE: int(1, 100).default(10).describe('PostgreSQL connections per hub.'),
    PG_STATEMENT_TIMEOUT_MS: int(100, 600_000)
      .default(5000)
      .describe('Longest a database statement may run before it fails (server side, and client side shortly after).'),
    PG_CONNECT_TIMEOUT_MS: int(100, 60_000).default(2000).describe('Longest a new database connection may take to open, so an unreachable server fails fast.'),
    READINESS_TIMEOUT_MS: int(50, 60_000).default(1000).describe('Longest /readyz waits on a store before it reports that store down.'),

    BATCH_MAX_FRAMES: int(1, 100_000).default(2000).describe('A batch is flushed when it holds this many frames...'),
    BATCH_FLUSH_MS: int(1, 10_000).default(50).describe('...or when its oldest frame has waited this long.'),
    BATCHES_IN_FLIGHT: int(1, 8)
      .default(2)
      .describe("Batches committing at once, drivers partitioned between them by id so each driver's frames stay in order."),
    PENDING_MAX_FRAMES: int(1, 10_000_000).default(100_000).describe('Frames queued or in flight to the database; beyond it new frames get `overloaded`.'),

    REDIS_COMMAND_TIMEOUT_MS: int(10, 60_000)
      .default(250)
      .describe("Longest a Redis command may take before it counts as failed (time the hub's own event loop was stalled does not count)."),
    REDIS_PROBE_INTERVAL_MS: int(50, 60_000)
      .default(250)
      .describe('How often a failed Redis is probed; on success the index is repaired, then reads switch back.'),
    PROFILE_REFRESH_MS: int(100, 3_600_000).default(2000).describe('How often driver profiles changed by other writers are reloaded into the cache.'),
    RECONCILE_INTERVAL_MS: int(1000, 86_400_000)
      .default(60_000)
      .describe('How often drivers changed in PostgreSQL since the last pass are written to the geo index (never over a newer position).'),
    RECONCILE_AUDIT_INTERVAL_MS: int(1000, 86_400_000)
      .default(900_000)
      .describe('How often the whole geo index is compared with PostgreSQL and repaired (damage no row change records, such as keys deleted by hand).'),
    POSITIONS_VACUUM_INTERVAL_MS: int(0, 3_600_000)
      .default(2000)
      .describe('How often the hub vacuums the drivers table, which every batch rewrites; 0 leaves it to autovacuum.'),
    STALE_AFTER_MS: int(1000, 86_400_000 * 365)
      .default(30_000)
      .describe('A driver silent for this long is left out of nearby answers and dropped from the index until its next frame.'),
    HISTORY_RETENTION_DAYS: int(0, 36_500)
      .default(30)
      .describe('Location history is kept this many days: older daily partitions are dropped whole (never a DELETE). 0 keeps it forever.'),
    HISTORY_PARTITIONS_AHEAD_DAYS: int(1, 366).default(2).describe('Days after today whose history partitions are created in advance.'),
    HISTORY_MAINTENANCE_INTERVAL_MS: int(1000, 86_400_000)
      .default(3_600_000)
      .describe('How often the hub creates history partitions ahead and drops expired ones (also once at start).'),
    SHUTDOWN_DEADLINE_MS: int(100, 600_000).default(10_000).describe('On SIGTERM/SIGINT: longest wait to commit and ack pending frames before exiting.'),

    WS_MAX_PAYLOAD_BYTES: int(256, 1_048_576).default(4096).describe('Largest WebSocket message; a bigger one closes the connection.'),
    WS_IDLE_TIMEOUT_S: int(8, 960).default(60).describe('A socket silent this long is closed; the hub pings automatically before that.'),
    WS_MAX_BACKPRESSURE_BYTES: int(1024, 64 * 1_048_576)
      .default(256 * 1024)
      .describe('Outbound bytes buffered per socket; over it, results for that socket are coalesced instead of queued.'),
    WS_SLOW_CLOSE_MS: int(100, 600_000).default(10_000).describe('A socket over WS_MAX_BACKPRESSURE_BYTES this long is closed with 4008.'),

    AUTH_SECRET: z
      .string()
      .min(32, 'must be at least 32 characters (make one with `openssl rand -base64 32`)')
      .optional()
      .describe('HS256 secret for access tokens (at least 32 characters). Unset: open mode, refused in production.'),
    AUTH_PREVIOUS_SECRET: z
      .string()
      .min(32, 'must be at least 32 characters, like AUTH_SECRET')
      .optional()
      .describe('The secret before the last rotation: its tokens stay valid until they expire.'),
    DEMO_RIDER_TOKENS: bool
      .default(false)
      .describe(
        'Demo only: serve GET /api/demo/rider-token, a short-lived rider token for anyone who asks, so the map page works on a hub with AUTH_SECRET (docker compose turns it on). Off: the path answers 204 and gives no token.',
      ),
    DRIVER_FRAMES_PER_S: int(1, 100_000).default(20).describe('Per-connection token bucket for driver frames: sustained rate...'),
    DRIVER_FRAME_BURST: int(1, 1_000_000).default(300).describe('...and burst, so an app back from minutes offline can send its backlog at once.'),
    RIDER_QUERIES_PER_S: int(1, 100_000).default(10).describe('Per-connection token bucket for rider queries: sustained rate...'),
    RIDER_QUERY_BURST: int(1, 1_000_000).default(20).describe('...and burst.'),
    RATE_LIMIT_ABUSE_REFUSALS: int(1, 1_000_000)
      .default(100)
      .describe('A connection refused this many messages per window (on average) is closed with 1008...'),
    RATE_LIMIT_ABUSE_WINDOW_MS: int(100, 3_600_000).default(10_000).describe('...where the window is this long.'),
    MAX_CONNECTIONS: int(1, 1_000_000).default(15_000).describe('Open and opening WebSocket connections per hub; the next upgrade gets 503.'),
    MAX_CONNECTIONS_PER_IDENTITY: int(2, 10_000)
      .default(4)
      .describe('Open and opening connections per verified identity; the next gets 429 (at least 2, so a reconnecting driver can take over).'),

    DISPATCH_WAVE_SIZE: int(1, 100).default(3).describe('Drivers offered a ride at once: the nearest online drivers holding no other offer.'),
    DISPATCH_OFFER_TIMEOUT_MS: int(1000, 600_000).default(15_000).describe('How long a driver has to accept an offer; silence declines it.'),
    DISPATCH_MAX_WAVES: int(1, 10).default(3).describe('Waves of offers before a request ends `unmatched`.'),
    DISPATCH_RADIUS_KM: decimal(0.1, 50).default(3).describe('Search radius of the first wave; each later wave doubles it.'),
    PG_DISPATCH_POOL_SIZE: int(1, 100)
      .default(4)
      .describe('PostgreSQL connections per hub for ride and offer transactions, apart from reads and batch writes.'),

    SUBSCRIPTION_MOVE_METERS: int(1, 100_000)
      .default(25)
      .describe('A listed driver that moved farther than this from where the rider last saw it is worth a nearby.update.'),
    SUBSCRIPTION_MAX_HZ: decimal(0.01, 100)
      .default(2)
      .describe('At most this many nearby.update per second per subscription; changes in between are coalesced into the next one.'),
    SUBSCRIPTIONS_PER_RIDER: int(1, 1000)
      .default(4)
      .describe('Open live-nearby subscriptions per rider (per connection in open mode, where riders name themselves).'),

    EMBEDDED_SEED_DRIVERS: int(0, 1_000_000).default(2000).describe('Drivers seeded into an empty embedded database on first start.'),
    EMBEDDED_SIMULATED_DRIVERS: int(0, 100_000)
      .default(2000)
      .describe(
        'Embedded mode: the built-in simulator keeps this many of the embedded drivers (ids 1..N, at most as many as exist) moving, so the map stays alive; 0 turns it off and leaves the fleet to real driver apps.',
      ),
  })
  .superRefine(
    (config, ctx) => {
      if (config.REDIS_URL && !config.DATABASE_URL) {
        ctx.addIssue({ code: 'custom', path: ['REDIS_URL'], message: 'REDIS_URL needs DATABASE_URL as well' });
      }
      if (config.REDIS_CLUSTER_NODES && !config.DATABASE_URL) {
        ctx.addIssue({ code: 'custom', path: ['REDIS_CLUSTER_NODES'], message: 'needs DATABASE_URL as well' });
      }
      if (config.REDIS_CLUSTER_NODES && config.REDIS_URL) {
        ctx.addIssue({
          code: 'custom',
          path: ['REDIS_CLUSTER_NODES'],
          message: 'set either REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a cluster), not both',
        });
      }
      if (config.HUB_BUS && !config.REDIS_URL && !config.REDIS_CLUSTER_NODES) {
        ctx.addIssue({ code: 'custom', path: ['HUB_BUS'], message: 'needs REDIS_URL or REDIS_CLUSTER_NODES: the bus runs on Redis pub/sub' });
      }
      if (/[{}]/.test(config.REDIS_KEY_PREFIX)) {
        ctx.addIssue({ code: 'custom', path: ['REDIS_KEY_PREFIX'], message: 'must not contain { or }: the geo index puts each cell in a hash tag of its own' });
      }
      if (config.NODE_ENV === 'production' && !config.AUTH_SECRET) {
        ctx.addIssue({
          code: 'custom',
          path: ['AUTH_SECRET'],
          message: 'is required when NODE_ENV=production (open mode is for development only; make one with `openssl rand -base64 32`)',
        });
      }
      if (config.NODE_ENV === 'production' && !config.DATABASE_URL && !config.ALLOW_EMBEDDED) {
        ctx.addIssue({
          code: 'custom',
          path: ['DATABASE_URL'],
          message: 'is required when NODE_ENV=production: set it to your PostgreSQL URL (or ALLOW_EMBEDDED=true to run on the embedded database on purpose)',
        });
      }
      if (config.AUTH_PREVIOUS_SECRET && !config.AUTH_SECRET) {
        ctx.addIssue({ code: 'custom', path: ['AUTH_PREVIOUS_SECRET'], message: 'needs AUTH_SECRET as well' });
      }
    },
    { when: () => true },
  ); // also when a single setting failed: every problem is reported in one pass

export type Config = z.infer<typeof configSchema>;

/** Every problem with the settings, one line each ("NAME: what is wrong and what to do"). */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment, throwing one ConfigError that lists every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = configSchema.safeParse(cleaned);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`));
}
