import type { Logger } from '../logger.ts';
import { registerDriverRoute, type DriverRoute } from './driver-route.ts';
import { registerHttpRoutes, type StaticAsset } from './http-routes.ts';
import type { HubServices } from './ports.ts';
import { registerRiderRoute, type RiderRoute } from './rider-route.ts';
import { socketLimits, type SocketLimitSettings } from './socket-limits.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import { ConnectionCaps } from './connection-caps.ts';
import { createIdentityResolver } from './identity.ts';
import type { SecuritySettings } from './security-settings.ts';
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
  readonly drivers: DriverRoute;
  readonly riders: RiderRoute;
  /** Stops accepting new connections; open sockets stay. */
  stopListening(): void;
  /** Closes every open socket with 1001 and a reason. */
  closeAll(reason: string): void;
  connectionCounts(): { drivers: number; riders: number };
}

/** The uWS layer: upgrade, routing, limits, backpressure. No business logic lives here. */
export async function startTransport(services: HubServices, options: TransportOptions): Promise<Transport> {
  assertNativeUws();
  const app = uws.App();
  const limits = socketLimits(options.limits);
  const { security, logger } = options;
  const identities = createIdentityResolver(security.auth);
  if (identities.open) {
    logger.warn('AUTH DISABLED (open mode): AUTH_SECRET is not set, so anyone can connect as any driver or rider; never expose this hub');
  }
  const caps = new ConnectionCaps(security.caps);
  const drivers = registerDriverRoute(app, services, { limits, identities, caps, rate: security.driverRate, logger });
  const riders = registerRiderRoute(app, services, { limits, identities, caps, rate: security.riderRate, logger });
  registerHttpRoutes(app, services, identities, options.assets ?? new Map(), logger);
  const sweeper = startSocketSweeper(
    function* () {
      yield* drivers.sockets.values();
      yield* riders.sockets;
    },
    { maxBackpressureBytes: options.limits.maxBackpressureBytes, slowCloseMs: security.slowCloseMs },
    { onClose: (reason) => services.onSocketClosedByHub(reason), onSlowCount: (count) => services.onSlowSocketCount(count) },
  );

  const listenSocket = await listen(app, { host: options.host, port: options.port, sharePort: options.sharePort ?? false });
  const port = uws.us_socket_local_port(listenSocket);
  let listening = true;

  return {
    port,
    drivers,
    riders,
    stopListening() {
      if (!listening) return;
      listening = false;
      uws.us_listen_socket_close(listenSocket);
    },
    closeAll(reason) {
      sweeper.stop();
      for (const ws of [...drivers.sockets.values()]) {
        if (!ws.getUserData().closed) ws.end(CloseCode.GOING_AWAY, reason);
      }
      for (const ws of [...riders.sockets]) {
        if (!ws.getUserData().closed) ws.end(CloseCode.GOING_AWAY, reason);
      }
    },
    connectionCounts: () => ({ drivers: drivers.sockets.size, riders: riders.sockets.size }),
  };
}
