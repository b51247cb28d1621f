/**
 * The whole demo in one command: a hub in embedded mode (PGlite and the
 * in-process geo index, nothing to install or start) with a simulated fleet
 * driving it, and the live map served at `/`.
 *
 *   npm run demo [-- --drivers 300 --riders 3 --port 8080 --host 127.0.0.1 --interval 1s]
 *
 * Ctrl-C stops the fleet, then the hub, and deletes the demo's database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { startHub, type Hub } from '../src/hub.ts';
import { createLogger } from '../src/logger.ts';
import { formatStatusLine, formatSummary, parseDuration, runSimulation } from '../clients/sim/index.ts';
import { loadDemoAssets } from '../src/transport/demo-assets.ts';
import { cliArgs, positiveInt } from './cli-args.ts';

const args = cliArgs({ drivers: '300', riders: '3', port: '8080', host: '127.0.0.1', interval: '1s' });
const drivers = positiveInt('drivers', args.drivers);
const riders = positiveInt('riders', args.riders);
const intervalMs = parseDuration(args.interval);

// A fresh database per run: the seeded fleet must be exactly the drivers the
// simulator drives (ids 1..N), whatever an earlier run used.
const dataDir = await mkdtemp(path.join(tmpdir(), 'dispatch-demo-'));
const config = loadConfig({
  ...process.env,
  // Embedded mode whatever the shell exports: the demo must not write to a real database.
  DATABASE_URL: undefined,
  REDIS_URL: undefined,
  NODE_ENV: 'development',
  HOST: args.host,
  PORT: args.port,
  DATA_DIR: dataDir,
  EMBEDDED_SEED_DRIVERS: String(drivers),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});

let hub: Hub;
try {
  hub = await startHub(config, { logger: createLogger(config.LOG_LEVEL), assets: await loadDemoAssets() });
} catch (error) {
  await rm(dataDir, { recursive: true, force: true });
  process.stderr.write(`demo hub failed to start: ${(error as Error).message}\n`);
  if (/listen/i.test((error as Error).message)) process.stderr.write('is the port taken? try --port 0 for any free port\n');
  process.exit(1);
}

const wildcard = args.host === '0.0.0.0' || args.host === '::';
const dialHost = wildcard ? '127.0.0.1' : args.host.includes(':') ? `[${args.host}]` : args.host;
const simulation = runSimulation({ hubUrl: `ws://${dialHost}:${hub.port}`, drivers, riders, intervalMs, seed: 'demo' });

const pageHost = wildcard || args.host === '127.0.0.1' ? 'localhost' : dialHost;
process.stderr.write(
  `\nDispatch hub demo: embedded hub, ${drivers} simulated drivers, ${riders} simulated riders\n\n` +
    `  Open  http://${pageHost}:${hub.port}/\n\n` +
    `  Ctrl-C to stop.\n\n`,
);

const tty = process.stderr.isTTY;
// Redrawn in place on a terminal; a log file gets a line every few seconds.
const statusTimer = setInterval(
  () => {
    const line = formatStatusLine(simulation.stats.snapshot());
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  },
  tty ? 1000 : 5000,
);

const signal = await new Promise<NodeJS.Signals>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
clearInterval(statusTimer);
// A second Ctrl-C while shutting down means "now".
process.once('SIGINT', () => process.exit(130));
process.stderr.write(`${tty ? '\n' : ''}stopping (${signal})…\n`);
// The fleet first, so no driver is left reconnecting to a hub that is going away.
const summary = await simulation.stop();
await hub.close();
await rm(dataDir, { recursive: true, force: true });
process.stderr.write(`${formatSummary(summary)}\n`);
