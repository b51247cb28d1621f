// First: on an unsupported Node this says which one to use, before uWebSockets.js fails to load.
import './launch/check-node.ts';
import type { Config } from './config.ts';
import { startupBanner } from './launch/banner.ts';
import { EXIT, parseCli, runCli } from './launch/cli.ts';
import { loadSettings } from './launch/settings.ts';
import { onStopSignal } from './launch/stop-signals.ts';
import { reportReady, stopWhenOrphaned } from './launch/worker-link.ts';
import { createLogger } from './logger.ts';

const USAGE = `usage: npm start [-- --help]

Runs the dispatch hub. Settings come from environment variables and from a
.env file in the working directory; a variable set in the environment wins
over .env. Every setting is listed in README.md (Configuration) and
.env.example.

Without DATABASE_URL the hub runs embedded: PostgreSQL as PGlite in DATA_DIR
(./.data), an in-process geo index, and a seeded fleet that the built-in
simulator keeps moving (EMBEDDED_SIMULATED_DRIVERS=0 turns it off), so the
map at / stays alive. With DATABASE_URL (and REDIS_URL) it runs on
PostgreSQL (and Redis).

SIGINT or SIGTERM stops it gracefully: no new connections, every frame
received is committed and acked, then sockets close with 1001.

HUB_WORKERS=N (needs DATABASE_URL) runs N hub processes on the one PORT
under a supervisor that restarts any that dies; a signal to the supervisor
drains them all. --worker-index is how the supervisor starts each worker.`;

const cli = parseCli(USAGE, { 'worker-index': { type: 'string' } });
/** Set when this process is one of HUB_WORKERS hubs, forked by the supervisor. */
const workerIndex = cli['worker-index'];

/** Process entry: settings, the hub, the banner, and signal handling. Nothing imports this file. */
let config: Config | undefined;
// Installed before anything starts: a Ctrl-C during start must not fall through to
// Node's default and kill the process halfway through writing the embedded database.
let stop: ((signal: NodeJS.Signals) => void) | undefined;
let stopDuringStart: NodeJS.Signals | undefined;
onStopSignal(
  (signal) => {
    if (stop) return stop(signal);
    stopDuringStart = signal;
    process.stderr.write(`${signal}: stopping as soon as the start completes\n`);
  },
  (signal, sinceFirstMs) => process.stderr.write(`${signal} again after ${sinceFirstMs} ms: still draining, within SHUTDOWN_DEADLINE_MS\n`),
);

const startCode = await runCli(
  USAGE,
  async () => {
    const { config: settings, envFile } = loadSettings();
    config = settings;
    const logger = createLogger(config.LOG_LEVEL, workerIndex === undefined ? {} : { worker: Number(workerIndex) });
    if (envFile.path && workerIndex === undefined)
      logger.info({ file: envFile.path, settings: envFile.applied }, 'settings read from .env (the environment wins)');
    if (config.HUB_WORKERS > 1 && workerIndex === undefined) {
      // The supervisor loads no hub of its own: each worker is a whole hub.
      const { runSupervisor } = await import('./launch/run-supervisor.ts');
      stop = await runSupervisor(config, logger, (code) => process.exit(code));
      if (stopDuringStart) stop(stopDuringStart);
      return;
    }
    // Loaded only now: --help and a usage error answer without loading the hub, uWebSockets.js and PGlite.
    const [{ startHub }, { loadDemoAssets }, { startEmbeddedFleet }] = await Promise.all([
      import('./hub.ts'),
      import('./transport/demo-assets.ts'),
      import('./launch/embedded-fleet.ts'),
    ]);
    const hub = await startHub(config, { logger, assets: await loadDemoAssets() });
    const fleet = hub.mode === 'embedded' ? await startEmbeddedFleet({ config, port: hub.port, store: hub.store, logger }) : null;

    stop = (signal) => {
      logger.info({ signal }, 'shutting down');
      // The hub's own stop fits in SHUTDOWN_DEADLINE_MS; this only guards against a stop that hangs.
      setTimeout(() => {
        logger.error('shutdown deadline exceeded; exiting');
        process.exit(EXIT.failed);
      }, settings.SHUTDOWN_DEADLINE_MS + 2000).unref();
      // The simulated fleet signs off first, so its last frames and statuses are part of the drain.
      (fleet?.stop() ?? Promise.resolve())
        .then(() => hub.close())
        .then(
          () => process.exit(EXIT.ok),
          (error: unknown) => {
            logger.error({ err: error }, 'shutdown failed');
            process.exit(EXIT.failed);
          },
        );
    };
    if (stopDuringStart) {
      stop(stopDuringStart);
      return;
    }
    if (workerIndex !== undefined) {
      // The supervisor prints the one banner once every worker serves.
      reportReady({ port: hub.port, mode: hub.mode, geoUsable: hub.health.usable });
      stopWhenOrphaned(() => stop?.('SIGTERM'));
      return;
    }

    process.stderr.write(
      `${startupBanner({
        host: config.HOST,
        port: hub.port,
        mode: hub.mode,
        dataDir: config.DATA_DIR,
        databaseUrl: config.DATABASE_URL,
        redisUrl: config.REDIS_URL,
        redisClusterNodes: config.REDIS_CLUSTER_NODES,
        geoUsable: hub.health.usable,
        simulatedDrivers: fleet?.drivers ?? 0,
        interactive: process.stdin.isTTY === true,
        pid: process.pid,
      })}\n`,
    );
  },
  () => config,
);
// A start that failed may leave pools or the database open: they must not keep the process alive.
if (startCode !== EXIT.ok) process.exit(startCode);
