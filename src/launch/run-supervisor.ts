import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { claimFreePort } from '../transport/listen.ts';
import { startupBanner } from './banner.ts';
import { WorkersNeedSharedStoresError } from './worker-errors.ts';
import { WorkerSupervisor } from './worker-supervisor.ts';

const HUB_ENTRY = fileURLToPath(new URL('../main.ts', import.meta.url));
/** The workers' own drain fits in SHUTDOWN_DEADLINE_MS (plus their 2 s guard); past this the supervisor kills what is left. */
const STOP_GRACE_MS = 4000;

/**
 * The supervisor of HUB_WORKERS hub processes on one port: it checks that
 * the port is free (the workers may share it with each other, never with
 * another program), starts the workers, prints the banner once all serve,
 * and returns the stop that drains them all and exits.
 */
export async function runSupervisor(config: Config, logger: Logger, exit: (code: number) => never): Promise<(signal: NodeJS.Signals) => void> {
  if (!config.DATABASE_URL) throw new WorkersNeedSharedStoresError(config.HUB_WORKERS, 'database');
  if (!config.REDIS_URL && !config.REDIS_CLUSTER_NODES) throw new WorkersNeedSharedStoresError(config.HUB_WORKERS, 'geo');
  if (config.HUB_BUS === false) throw new WorkersNeedSharedStoresError(config.HUB_WORKERS, 'bus');
  // HUB_SHARE_PORT: joining hubs already on the port is what the operator asked for.
  const port = config.HUB_SHARE_PORT ? config.PORT : await claimFreePort(config.HOST, config.PORT);
  const supervisor = new WorkerSupervisor({
    count: config.HUB_WORKERS,
    entry: HUB_ENTRY,
    execArgv: process.execArgv,
    env: { ...process.env, PORT: String(port), HUB_SHARE_PORT: 'true' },
    logger,
  });
  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal, workers: config.HUB_WORKERS }, 'stopping every worker');
    setTimeout(() => {
      logger.error('workers still running past the shutdown deadline; killing them');
      supervisor.kill();
      exit(1);
    }, config.SHUTDOWN_DEADLINE_MS + STOP_GRACE_MS).unref();
    supervisor.stop().then(
      (clean) => exit(clean ? 0 : 1),
      (error: unknown) => {
        logger.error({ err: error }, 'stopping the workers failed');
        exit(1);
      },
    );
  };
  let first;
  try {
    first = await supervisor.start();
  } catch (error) {
    await supervisor.stop();
    throw error;
  }
  logger.info({ workers: config.HUB_WORKERS, port }, 'every worker serves');
  process.stderr.write(
    `${startupBanner({
      host: config.HOST,
      port: first.port,
      mode: first.mode,
      dataDir: config.DATA_DIR,
      databaseUrl: config.DATABASE_URL,
      redisUrl: config.REDIS_URL,
      redisClusterNodes: config.REDIS_CLUSTER_NODES,
      geoUsable: first.geoUsable,
      simulatedDrivers: 0,
      interactive: process.stdin.isTTY === true,
      pid: process.pid,
      workers: config.HUB_WORKERS,
    })}\n`,
  );
  return stop;
}
