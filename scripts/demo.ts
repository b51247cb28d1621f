import '../src/launch/check-node.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseDuration } from '../clients/lib/duration.ts';
import { browserHost } from '../src/launch/banner.ts';
import { parseCli, runCli, UsageError } from '../src/launch/cli.ts';
import { loadSettings } from '../src/launch/settings.ts';
import { onStopSignal } from '../src/launch/stop-signals.ts';
import { createLogger } from '../src/logger.ts';
import { ListenError } from '../src/transport/listen.ts';

const USAGE = `usage: npm run demo -- [--drivers 300] [--riders 3] [--port 8080] [--host 127.0.0.1] [--interval 1s]
                     [--ride-every 30s] [--accept 0.8]

The whole demo in one command: a hub in embedded mode (PGlite and the
in-process geo index, in a fresh temporary directory) with a simulated fleet
and simulated riders driving it, and the live map at /. Each simulated rider
asks for a ride every --ride-every on average; drivers accept an offer with
chance --accept after a human pause, drive to the pickup, wait for the rider
and drive to the dropoff. Click the map to ask for a ride yourself. Ctrl-C stops the
fleet, then the hub, prints the simulation's summary and deletes the
temporary database. (A plain \`npm start\` shows a moving fleet too, in ./.data.)`;

const args = parseCli(USAGE, {
  drivers: { type: 'string', default: '300' },
  riders: { type: 'string', default: '3' },
  port: { type: 'string', default: '8080' },
  host: { type: 'string', default: '127.0.0.1' },
  interval: { type: 'string', default: '1s' },
  'ride-every': { type: 'string', default: '30s' },
  accept: { type: 'string', default: '0.8' },
});

// Installed before anything starts, and kept: a second Ctrl-C (or npm's
// forwarded copy) must never cut the summary and the clean-up short.
let signalled: (signal: NodeJS.Signals) => void = () => undefined;
const stopSignal = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
onStopSignal(
  (signal) => signalled(signal),
  () => process.stderr.write('still stopping: the summary and the clean-up follow\n'),
);

function wholeNumber(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < 0) throw new UsageError(`--${flag} must be a whole number ≥ 0, got "${text}"`);
  return value;
}

process.exit(
  await runCli(USAGE, async () => {
    const drivers = wholeNumber('drivers', args.drivers);
    const riders = wholeNumber('riders', args.riders);
    let intervalMs: number;
    let rideEveryMs: number;
    try {
      intervalMs = parseDuration(args.interval);
      rideEveryMs = parseDuration(args['ride-every']);
    } catch (error) {
      throw new UsageError(`--interval and --ride-every: ${(error as Error).message}`);
    }
    const acceptProbability = Number(args.accept);
    if (args.accept.trim() === '' || !(acceptProbability >= 0 && acceptProbability <= 1))
      throw new UsageError(`--accept must be from 0 to 1, got "${args.accept}"`);

    // A fresh database per run: the seeded fleet must be exactly the drivers the
    // simulator drives (ids 1..N), whatever an earlier run used.
    const dataDir = await mkdtemp(path.join(tmpdir(), 'dispatch-demo-'));
    try {
      const { config } = loadSettings({
        // Embedded mode whatever the shell or .env says: the demo must not write to a real database.
        DATABASE_URL: undefined,
        REDIS_URL: undefined,
        NODE_ENV: 'development',
        HOST: args.host,
        PORT: args.port,
        DATA_DIR: dataDir,
        EMBEDDED_SEED_DRIVERS: String(drivers),
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      });
      // Loaded only now: --help and a usage error answer without loading the hub and the simulator.
      const [{ startHub }, { loadDemoAssets }, { formatStatusLine, formatSummary, runSimulation }] = await Promise.all([
        import('../src/hub.ts'),
        import('../src/transport/demo-assets.ts'),
        import('../clients/sim/index.ts'),
      ]);
      let hub;
      try {
        hub = await startHub(config, { logger: createLogger(config.LOG_LEVEL), assets: await loadDemoAssets() });
      } catch (error) {
        if (error instanceof ListenError && error.code === 'port_in_use') {
          process.stderr.write(`port ${error.port} is already in use on ${error.host}: stop what listens there, or run with --port 0 for any free port\n`);
          return 1;
        }
        throw error;
      }

      const dialHost = args.host === '0.0.0.0' || args.host === '::' ? '127.0.0.1' : args.host.includes(':') ? `[${args.host}]` : args.host;
      const simulation = runSimulation({
        hubUrl: `ws://${dialHost}:${hub.port}`,
        drivers,
        riders,
        intervalMs,
        seed: 'demo',
        rideEveryS: rideEveryMs / 1000,
        driverRides: { acceptProbability },
      });
      process.stderr.write(
        `\nDispatch hub demo: embedded hub, ${drivers} simulated drivers, ${riders} simulated riders asking for rides\n\n` +
          `  Open  http://${browserHost(args.host)}:${hub.port}/  (click the map to ask for a ride)\n\n` +
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
      const signal = await stopSignal;
      clearInterval(statusTimer);
      process.stderr.write(`${tty ? '\n' : ''}stopping (${signal})…\n`);
      // The fleet first, so no driver is left reconnecting to a hub that is going away.
      const summary = await simulation.stop();
      await hub.close();
      process.stderr.write(`${formatSummary(summary)}\n`);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }),
);
