// First: on an unsupported Node this says which one to use, before uWebSockets.js fails to load.
import './launch/check-node.ts';
import { loadConfig, type Config } from './config.ts';
import { startHub } from './hub.ts';
import { startupBanner } from './launch/banner.ts';
import { EXIT, parseCli, runCli } from './launch/cli.ts';
import { applyEnvFile } from './launch/env-file.ts';
import { onStopSignal } from './launch/stop-signals.ts';
import { createLogger } from './logger.ts';
import { loadDemoAssets } from './transport/demo-assets.ts';

const USAGE = `usage: npm start [-- --help]

Runs the dispatch hub. Settings come from environment variables and from a
.env file in the working directory; a variable set in the environment wins
over .env. Every setting is listed in README.md (Configuration) and
.env.example.

Without DATABASE_URL the hub runs embedded: PostgreSQL as PGlite in DATA_DIR
(./.data), an in-process geo index and a seeded demo fleet. With
DATABASE_URL (and REDIS_URL) it runs on PostgreSQL (and Redis).

SIGINT or SIGTERM stops it gracefully: no new connections, every frame
received is committed and acked, then sockets close with 1001.`;

parseCli(USAGE, {});

/** Process entry: settings, the hub, the banner, and signal handling. Nothing imports this file. */
let config: Config | undefined;
await runCli(
  USAGE,
  async () => {
    const envFile = applyEnvFile('.env');
    config = loadConfig();
    const logger = createLogger(config.LOG_LEVEL);
    if (envFile.path) logger.info({ file: envFile.path, settings: envFile.applied }, 'settings read from .env (the environment wins)');
    const hub = await startHub(config, { logger, assets: await loadDemoAssets() });
    const settings = config;

    onStopSignal(
      (signal) => {
        logger.info({ signal }, 'shutting down');
        // The hub's own stop fits in SHUTDOWN_DEADLINE_MS; this only guards against a stop that hangs.
        setTimeout(() => {
          logger.error('shutdown deadline exceeded; exiting');
          process.exit(EXIT.failed);
        }, settings.SHUTDOWN_DEADLINE_MS + 2000).unref();
        hub.close().then(
          () => process.exit(EXIT.ok),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exit(EXIT.failed);
          },
        );
      },
      (signal, sinceFirstMs) => logger.warn({ signal, sinceFirstMs }, `still draining; the stop ends within SHUTDOWN_DEADLINE_MS (${settings.SHUTDOWN_DEADLINE_MS} ms)`),
    );

    process.stderr.write(
      `${startupBanner({
        host: config.HOST,
        port: hub.port,
        mode: hub.mode,
        dataDir: config.DATA_DIR,
        databaseUrl: config.DATABASE_URL,
        redisUrl: config.REDIS_URL,
        geoUsable: hub.health.usable,
        simulatedDrivers: 0,
        interactive: process.stdin.isTTY === true,
        pid: process.pid,
      })}\n`,
    );
  },
  () => config,
);
// A start that failed may leave pools or the database open: they must not keep the process alive.
if (process.exitCode) process.exit(process.exitCode);
