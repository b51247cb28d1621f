import { runSimulation, type Simulation, type TokenProvider } from '../../clients/sim/index.ts';
import { signToken } from '../auth/tokens.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../store/types.ts';

/** Every driver reports every two seconds: the simulator's default, well inside STALE_AFTER_MS. */
const INTERVAL_MS = 2000;

export interface EmbeddedFleet {
  readonly drivers: number;
  /** Signs the simulated drivers off (status offline) and closes their sockets; no waiting for acks. */
  stop(): Promise<void>;
}

/** Where this process reaches its own hub: a wildcard HOST is dialled on loopback. */
function loopbackUrl(host: string, port: number): string {
  const dial = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `ws://${dial}:${port}`;
}

/**
 * Embedded mode's demo fleet, kept moving by the built-in simulator: without
 * it the seeded drivers go stale after STALE_AFTER_MS and the map empties.
 * The simulated drivers are real WebSocket clients of this hub, so they go
 * through the same protocol, batching and acks as driver apps would. They
 * are drivers 1..N of the embedded database (a seeded database numbers its
 * drivers from 1); N is EMBEDDED_SIMULATED_DRIVERS, at most as many as exist.
 */
export async function startEmbeddedFleet(options: { config: Config; port: number; store: Store; logger: Logger }): Promise<EmbeddedFleet | null> {
  const { config, port, store, logger } = options;
  const drivers = Math.min(config.EMBEDDED_SIMULATED_DRIVERS, await store.countDrivers());
  if (drivers === 0) return null;
  const secret = config.AUTH_SECRET;
  const tokenProvider: TokenProvider | undefined = secret
    ? (subject) =>
        signToken({ role: subject.role, subject: subject.role === 'driver' ? subject.driverId : `embedded-rider-${subject.riderIndex}`, ttl: '1h', secret })
    : undefined;
  const simulation: Simulation = runSimulation({
    hubUrl: loopbackUrl(config.HOST, port),
    drivers,
    intervalMs: INTERVAL_MS,
    seed: 'embedded',
    drainMs: 0,
    ...(tokenProvider ? { tokenProvider } : {}),
  });
  logger.info({ drivers, intervalMs: INTERVAL_MS }, 'the built-in simulator is moving the embedded fleet (EMBEDDED_SIMULATED_DRIVERS=0 turns it off)');
  return {
    drivers,
    stop: async () => {
      await simulation.stop();
    },
  };
}
