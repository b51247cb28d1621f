import type { LocalConnections } from '../bus/types.ts';
import type { Config } from '../config.ts';
import { DispatchService } from '../dispatch/dispatch-service.ts';
import { createWaveTimers } from '../dispatch/wave-timers.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { Signal } from '../signal.ts';
import type { Services } from './services.ts';
import type { Stores } from './stores.ts';

/** How soon a dispatch step that failed (the database is down) runs again. */
const STEP_RETRY_MS = 1000;
/** How often this hub looks for rides whose deadline passed with no timer to run it (their hub died)... */
const SWEEP_INTERVAL_MS = 5000;
/** ...and how late a deadline must be to count: the owning hub's own timer fires first when it is alive. */
const SWEEP_GRACE_MS = 2000;
const SWEEP_BATCH = 500;

export interface RunningDispatch {
  readonly service: DispatchService;
  stop(): void;
}

/**
 * Dispatch over the stores, the nearby search and the hub's sockets (this
 * process's, and through the bus every process's): committed positions feed
 * the riders watching their driver approach, and a party that (re)connects
 * gets its open rides and pending offer again. `relayedToDriver` (the bus)
 * tells it of ride changes other processes sent to drivers connected here.
 */
export function startDispatch(
  config: Config,
  stores: Stores,
  services: Services,
  connections: LocalConnections,
  metrics: Metrics,
  logger: Logger,
  relayedToDriver?: Signal<[number, ServerMessage]>,
): RunningDispatch {
  const log = logger.child({ component: 'dispatch' });
  const timers = createWaveTimers({
    now: Date.now,
    retryMs: STEP_RETRY_MS,
    onStepFailed: (rideId, error) => {
      metrics.storeErrors.inc({ op: 'dispatch' });
      log.warn({ err: error, rideId, retryInMs: STEP_RETRY_MS }, 'dispatch step failed; retrying');
    },
  });
  const dispatch = new DispatchService({
    rides: stores.store.rides,
    candidates: {
      async nearest(query) {
        const answer = await services.nearby.find(query);
        return answer.drivers.map((driver) => ({ id: driver.id, distanceKm: driver.distanceKm }));
      },
    },
    delivery: connections,
    timers,
    observer: {
      // The cache answers nearby and the registry feeds live lists: a busy driver leaves
      // both at once, here; other hub processes see it at their next profile refresh
      // or its next position, and offers re-check it in the database.
      driverStatusChanged(driverId, status) {
        services.profiles.setStatus(driverId, status);
        services.subscriptions.driverStatusChanged(driverId, status);
      },
      rideReached(status, sinceRequestMs) {
        metrics.rides.inc({ status });
        if (status === 'assigned') metrics.rideAssignSeconds.observe(sinceRequestMs / 1000);
      },
      offersSent: (count) => metrics.offersSent.inc(count),
    },
    settings: {
      waveSize: config.DISPATCH_WAVE_SIZE,
      offerTimeoutMs: config.DISPATCH_OFFER_TIMEOUT_MS,
      maxWaves: config.DISPATCH_MAX_WAVES,
      firstRadiusKm: config.DISPATCH_RADIUS_KM,
    },
    logger: log,
  });
  services.ingest.committed.subscribe((committed) => dispatch.positionsCommitted(committed));
  relayedToDriver?.subscribe((driverId, message) => dispatch.statusRelayed(driverId, message));
  connections.presence.subscribe((change) => {
    if (change.kind === 'disconnected' && change.identity.role === 'driver') dispatch.driverLeft(change.identity.driverId);
    if (change.kind !== 'connected') return;
    dispatch.resume(change.identity).catch((error: unknown) => {
      metrics.storeErrors.inc({ op: 'ride_resume' });
      log.warn({ err: error, identity: change.identity }, 'open rides could not be re-sent on connect');
    });
  });
  const sweep = (): void => {
    dispatch.sweepOverdue(SWEEP_GRACE_MS, SWEEP_BATCH).then(
      (picked) => picked > 0 && log.info({ rides: picked }, 'picked up rides whose offer deadline passed with no hub to run it'),
      (error: unknown) => log.warn({ err: error }, 'overdue ride sweep failed'),
    );
  };
  // At start too: rides this hub left behind when it last stopped continue now.
  sweep();
  const sweeper = setInterval(sweep, SWEEP_INTERVAL_MS);
  sweeper.unref();
  return {
    service: dispatch,
    stop() {
      clearInterval(sweeper);
      dispatch.stop();
    },
  };
}
