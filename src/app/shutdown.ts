import { withDeadline } from '../deadline.ts';
import type { Logger } from '../logger.ts';
import type { Transport } from '../transport/app.ts';
import type { RunningBus } from './bus.ts';
import type { RunningDispatch } from './dispatch.ts';
import type { Maintenance } from './maintenance.ts';
import type { Services } from './services.ts';
import type { Stores } from './stores.ts';

/**
 * How the shutdown deadline is shared: most of it for committing what is
 * pending, then up to a fifth (at most a second) each for clients to read
 * the 1001 close and for the pools to close, so the whole stop fits in it.
 */
function shutdownBudget(deadlineMs: number): { drainMs: number; socketsMs: number; poolsMs: number } {
  const closeMs = Math.min(1000, Math.floor(deadlineMs / 5));
  return { drainMs: deadlineMs - 2 * closeMs, socketsMs: closeMs, poolsMs: closeMs };
}

export interface RunningHub {
  transport: Transport;
  maintenance: Maintenance;
  services: Services;
  dispatch: RunningDispatch;
  /** The cross-process bus, when it is on. */
  bus: RunningBus | undefined;
  stores: Stores;
  logger: Logger;
}

/** Graceful stop: no new connections, commit and ack what is pending, close sockets with 1001, close pools. */
export async function shutdownHub(hub: RunningHub, deadlineMs: number): Promise<void> {
  const { transport, maintenance, services, dispatch, bus, stores, logger } = hub;
  transport.stopListening();
  maintenance.stop();
  // Offer deadlines stop here; another hub's sweep (or this one's, restarted) picks the rides up from the database.
  dispatch.stop();
  const budget = shutdownBudget(deadlineMs);
  const drained = await Promise.race([
    services.ingest.drain().then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), budget.drainMs).unref()),
  ]);
  if (!drained) logger.error({ pending: services.ingest.pendingCount }, 'shutdown deadline passed with frames not committed; they were never acked');
  services.ingest.stop();
  const open = transport.connectionCounts();
  transport.closeAll('hub shutting down');
  // uWS forgets a socket as soon as it sends the close frame, but the client
  // still has to read it. Exiting at once would reset connections whose
  // clients are still sending, and a reset can discard the unread 1001. The
  // event loop keeps running meanwhile, so those sockets close cleanly.
  if (open.drivers + open.riders > 0) await new Promise((resolve) => setTimeout(resolve, budget.socketsMs));
  services.subscriptions.stop();
  services.profiles.stop();
  stores.health.stop();
  // A pool waits for its busy connections; one stuck on a dead server must not hold the exit past the deadline.
  const closed = await Promise.allSettled([
    withDeadline(stores.geo.close(), budget.poolsMs, 'geo close'),
    withDeadline(stores.store.close(), budget.poolsMs, 'store close'),
    // Withdraws this process's presence claims, so pushes stop coming here before the claims would expire.
    ...(bus ? [withDeadline(bus.stop(), budget.poolsMs, 'bus close')] : []),
  ]);
  for (const result of closed) if (result.status === 'rejected') logger.warn({ err: result.reason }, 'a pool did not close cleanly');
  logger.info({ drained }, 'hub stopped');
}
