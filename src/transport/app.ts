import type { Logger } from '../logger.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { ConnectionCaps } from './connection-caps.ts';
import type { ConnectionRegistry } from './connections.ts';
import { registerDemoTokenRoute } from './demo-token-route.ts';
import { registerDriverRoute } from './driver-route.ts';
import { registerHttpRoutes, type StaticAsset } from './http-routes.ts';
import { createIdentityResolver } from './identity.ts';
import type { HubServices } from './ports.ts';
import { registerRiderRoute } from './rider-route.ts';
import { SlicedQueue } from './sliced-queue.ts';
import type { SecuritySettings } from './security-settings.ts';
import { socketLimits, type SocketLimitSettings } from './socket-limits.ts';
import { startSocketSweeper } from './socket-sweeper.ts';
import { listen } from './listen.ts';
import { assertNativeUws, uws } from './uws.ts';

export interface TransportOptions {
  host: string;
  port: number;
  /** Several hub processes on one port, on purpose (HUB_SHARE_PORT); otherwise a taken port is a ListenError. */
  sharePort?: boolean;
  limits: SocketLimitSettings;
  security: SecuritySettings;
  assets?: ReadonlyMap<string, StaticAsset>;
  logger: Logger;
}

export interface Transport {
  readonly port: number;
  /** Stops accepting new connections; open sockets stay. */
  stopListening(): void;
  /** Closes every open socket with 1001 and a reason. */
  closeAll(reason: string): void;
  connectionCounts(): { drivers: number; riders: number };
}

/** Upgrade work (token checks, socket opens) holds the event loop at most about this long per turn in a storm of connections. */
const UPGRADE_SLICE_MS = 3;

/**
 * The uWS layer: upgrade, routing, limits, backpressure. No business logic
 * lives here: messages go to the services through the routing tables, and
 * sockets are registered in `connections`, through which services push.
 */
export async function startTransport(services: HubServices, connections: ConnectionRegistry, options: TransportOptions): Promise<Transport> {
  assertNativeUws();
  const app = uws.App();
  const limits = socketLimits(options.limits);
  const { security, logger } = options;
  const identities = createIdentityResolver(security.auth);
  if (identities.open) {
    logger.warn('AUTH DISABLED (open mode): AUTH_SECRET is not set, so anyone can connect as any driver or rider; never expose this hub');
  }
  const caps = new ConnectionCaps(security.caps);
  const admissions = new SlicedQueue(UPGRADE_SLICE_MS);
  registerDriverRoute(app, services, connections, { limits, identities, caps, rate: security.driverRate, logger, admissions });
  registerRiderRoute(app, services, connections, { limits, identities, caps, rate: security.riderRate, logger, admissions });
  registerHttpRoutes(app, services, identities, options.assets ?? new Map(), logger);
  registerDemoTokenRoute(app, security.demoRiderTokens ? (security.auth.secret ?? null) : null, logger);
  const allSockets = function* () {
    yield* connections.driverSockets();
    yield* connections.riderSockets();
  };
  const sweeper = startSocketSweeper(
    allSockets,
    { maxBackpressureBytes: options.limits.maxBackpressureBytes, slowCloseMs: security.slowCloseMs },
    {
      onClose: (reason) => services.record({ type: 'socket.closed_by_hub', reason }),
      onSlowCount: (count) => services.record({ type: 'sockets.slow', count }),
    },
  );

  const listenSocket = await listen(app, { host: options.host, port: options.port, sharePort: options.sharePort ?? false });
  const port = uws.us_socket_local_port(listenSocket);
  let listening = true;

  return {
    port,
    stopListening() {
      if (!listening) return;
      listening = false;
      uws.us_listen_socket_close(listenSocket);
    },
    closeAll(reason) {
      sweeper.stop();
      for (const ws of [...allSockets()]) {
        if (!ws.getUserData().closed) ws.end(CloseCode.GOING_AWAY, reason);
      }
    },
    connectionCounts: () => connections.counts(),
  };
}
