import type { Logger } from '../logger.ts';
import { registerDriverRoute, type DriverRoute } from './driver-route.ts';
import { registerHttpRoutes, type StaticAsset } from './http-routes.ts';
import type { HubServices } from './ports.ts';
import { registerRiderRoute, type RiderRoute } from './rider-route.ts';
import { socketLimits, type SocketLimitSettings } from './socket-limits.ts';
import { CloseCode } from './close-codes.ts';
import { assertNativeUws, uws, type us_listen_socket } from './uws.ts';

export interface TransportOptions {
  host: string;
  port: number;
  limits: SocketLimitSettings;
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
  const drivers = registerDriverRoute(app, services, limits, options.logger);
  const riders = registerRiderRoute(app, services, limits, options.logger);
  registerHttpRoutes(app, services, options.assets ?? new Map(), options.logger);

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(options.host, options.port, (socket) => {
      if (socket) resolve(socket);
      else reject(new Error(`could not listen on ${options.host}:${options.port}`));
    });
  });
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
