/**
 * Drives a fleet of simulated drivers and riders against a running hub.
 *
 *   npm run simulate -- --drivers 500 --url ws://localhost:8080 [--riders 20]
 *     [--interval 2s] [--seed S] [--first-id 1] [--duration 30s] [--rider-rate 1]
 *     [--offline-per-min 0.05] [--accept 0.8] [--ride-every 60s] [--token-cmd "<shell command printing a token>"]
 *
 * Exits 1 when any nearby answer broke its contract (ranking first of all) or when no
 * client ever connected, 2 on bad arguments.
 */
// First: on an unsupported Node this says which one to use.
import { applyEnvFile, envFilePath, onStopSignal } from '../../src/public/cli.ts';
import { execFile } from 'node:child_process';
import { parseArgs, promisify } from 'node:util';
import { signToken } from '../../src/public/tokens.ts';
import {
  DEFAULT_DRIVER_RIDES,
  DEFAULT_OFFLINE,
  formatStatusLine,
  formatSummary,
  parseDuration,
  runSimulation,
  type TokenProvider,
  type TokenSubject,
} from './index.ts';

const execFileAsync = promisify(execFile);

const USAGE = `usage: npm run simulate -- --drivers N [--url ws://localhost:8080] [--riders N] [--interval 2s]
       [--seed S] [--first-id 1] [--duration 30s] [--rider-rate 1] [--offline-per-min 0.05]
       [--accept 0.8] [--ride-every 60s] [--token-cmd CMD]

  --accept     chance that a driver accepts a ride offer (after a 1.5-6 s pause); the rest decline.
               Accepted rides are driven to the pickup and then the dropoff.
  --ride-every mean time between a rider's ride requests while it has no ride (default: never).

  --token-cmd  run through sh before every connection; stdout is the token. It sees SIM_ROLE
               (driver|rider) and SIM_DRIVER_ID or SIM_RIDER_INDEX in its environment.
  Without --token-cmd, AUTH_SECRET (the hub's secret, from the environment or .env) signs a token
  per connection. Ctrl-C (or SIGTERM) stops the fleet, waits for outstanding acks and prints the summary.
  Exit status: 0 done, 1 contract violations or never connected to the hub, 2 bad arguments.`;

/** Token commands spawn a shell each: a fleet reconnecting at once must not fork hundreds together. */
const TOKEN_CMD_CONCURRENCY = 8;
const TOKEN_CMD_TIMEOUT_MS = 10_000;

function parseCli(argv: string[]) {
  const { values } = parseArgs({
    args: argv,
    options: {
      drivers: { type: 'string' },
      url: { type: 'string', default: 'ws://localhost:8080' },
      riders: { type: 'string', default: '0' },
      interval: { type: 'string', default: '2s' },
      seed: { type: 'string', default: '1' },
      'first-id': { type: 'string', default: '1' },
      duration: { type: 'string' },
      'rider-rate': { type: 'string', default: '1' },
      'offline-per-min': { type: 'string', default: String(DEFAULT_OFFLINE.perMinute) },
      accept: { type: 'string', default: String(DEFAULT_DRIVER_RIDES.acceptProbability) },
      'ride-every': { type: 'string' },
      'token-cmd': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.drivers === undefined) throw new Error('--drivers is required');
  const offlinePerMinute = number('--offline-per-min', values['offline-per-min']);
  const acceptProbability = number('--accept', values.accept);
  if (acceptProbability < 0 || acceptProbability > 1) throw new Error(`--accept must be from 0 to 1, got "${values.accept}"`);
  return {
    hubUrl: values.url,
    drivers: number('--drivers', values.drivers),
    riders: number('--riders', values.riders),
    intervalMs: parseDuration(values.interval),
    seed: values.seed,
    firstDriverId: number('--first-id', values['first-id']),
    durationMs: values.duration === undefined ? undefined : parseDuration(values.duration),
    riderQueriesPerS: number('--rider-rate', values['rider-rate']),
    offline: offlinePerMinute > 0 ? { ...DEFAULT_OFFLINE, perMinute: offlinePerMinute } : null,
    driverRides: { acceptProbability },
    rideEveryS: values['ride-every'] === undefined ? 0 : parseDuration(values['ride-every']) / 1000,
    tokenCommand: values['token-cmd'],
  };
}

function number(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new Error(`${flag} must be a number, got "${text}"`);
  return value;
}

function commandTokenProvider(command: string): TokenProvider {
  let running = 0;
  let reportedFailure = false;
  const waiting: Array<() => void> = [];
  const acquire = (): Promise<void> => {
    if (running < TOKEN_CMD_CONCURRENCY) {
      running += 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  // A freed slot passes straight to the next waiter, so a newcomer cannot slip in between.
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  };
  return async (subject: TokenSubject) => {
    await acquire();
    try {
      const env = {
        ...process.env,
        SIM_ROLE: subject.role,
        ...(subject.role === 'driver' ? { SIM_DRIVER_ID: String(subject.driverId) } : { SIM_RIDER_INDEX: String(subject.riderIndex) }),
      };
      const { stdout } = await execFileAsync('sh', ['-c', command], { env, timeout: TOKEN_CMD_TIMEOUT_MS });
      return stdout.trim() || undefined;
    } catch (error) {
      // The stats only count token failures; say why once, or a broken command is a mystery.
      if (!reportedFailure) process.stderr.write(`\n--token-cmd failed: ${(error as Error).message.trim()}\n`);
      reportedFailure = true;
      throw error;
    } finally {
      release();
    }
  };
}

/**
 * With AUTH_SECRET in the environment (the hub's own secret, as in development
 * and tests), each connection signs its own short-lived token in process.
 */
function secretTokenProvider(secret: string): TokenProvider {
  return (subject) =>
    signToken({
      role: subject.role,
      subject: subject.role === 'driver' ? subject.driverId : `sim-rider-${subject.riderIndex}`,
      ttl: '1h',
      secret,
    });
}

async function main(): Promise<number> {
  try {
    const envFile = envFilePath();
    if (envFile) applyEnvFile(envFile);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  let cli: ReturnType<typeof parseCli>;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let simulation: ReturnType<typeof runSimulation>;
  try {
    simulation = runSimulation({
      ...cli,
      ...(cli.tokenCommand
        ? { tokenProvider: commandTokenProvider(cli.tokenCommand) }
        : process.env.AUTH_SECRET
          ? { tokenProvider: secretTokenProvider(process.env.AUTH_SECRET) }
          : {}),
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }

  const tty = process.stderr.isTTY;
  console.error(
    `simulating ${cli.drivers} drivers (ids ${cli.firstDriverId}..${cli.firstDriverId + cli.drivers - 1}) ` +
      `and ${cli.riders} riders against ${cli.hubUrl}, seed ${cli.seed}; Ctrl-C for the summary`,
  );
  // A redrawn line is readable at 1 Hz; a log file only needs a line every few seconds.
  const statusTimer = setInterval(
    () => {
      const line = formatStatusLine(simulation.stats.snapshot());
      process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
    },
    tty ? 1_000 : 5_000,
  );

  const finished = new Promise<string>((resolve) => {
    const durationTimer = cli.durationMs === undefined ? undefined : setTimeout(() => resolve('duration elapsed'), cli.durationMs);
    // The handlers stay installed: a second Ctrl-C (or npm's forwarded copy) must not cut the drain and the summary short.
    onStopSignal(
      (signal) => {
        clearTimeout(durationTimer);
        resolve(signal);
      },
      () => process.stderr.write('still draining: the summary follows\n'),
    );
  });
  const reason = await finished;
  clearInterval(statusTimer);
  process.stderr.write(`${tty ? '\n' : ''}stopping (${reason}), draining outstanding acks...\n`);
  const summary = await simulation.stop();
  console.log(formatSummary(summary));
  // A hello (drivers) or a query sent (riders) both need an open, accepted socket.
  if (summary.frames.statusSent === 0 && summary.nearby.sent === 0 && cli.drivers + cli.riders > 0) {
    const errors = Object.entries(summary.errors)
      .map(([code, count]) => `${code} ${count}`)
      .join(', ');
    console.error(`FAIL: never connected to ${cli.hubUrl}${errors ? ` (${errors})` : ''}: is a hub running there? Start one with \`npm start\`, or pass --url`);
    return 1;
  }
  if (summary.violationCount === 0) return 0;
  console.error(`FAIL: ${summary.violationCount} contract violations in nearby answers (ranking: ${summary.violations.order})`);
  return 1;
}

process.exitCode = await main();
