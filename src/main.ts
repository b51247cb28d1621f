import { loadConfig } from './config.ts';
import { startHub } from './hub.ts';
import { createLogger } from './logger.ts';
import { loadDemoAssets } from './transport/demo-assets.ts';

/** Process entry: configuration, the hub, and signal handling. Nothing imports this file. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  const logger = createLogger(config.LOG_LEVEL);
  const hub = await startHub(config, { logger, assets: await loadDemoAssets() });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown deadline exceeded; exiting');
      process.exit(1);
    }, config.SHUTDOWN_DEADLINE_MS + 2000);
    deadline.unref();
    hub.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`hub failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
