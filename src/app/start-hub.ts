import type { LocalConnections } from '../bus/types.ts';
import type { Config } from '../config.ts';
import { FrameRate } from '../frame-rate.ts';
import type { GeoHealth } from '../geo/geo-health.ts';
import type { GeoIndex } from '../geo/types.ts';
import type { IngestService } from '../ingest/ingest-service.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createMetrics, type Metrics } from '../metrics.ts';
import type { Store } from '../store/types.ts';
import type { SubscriptionRegistry } from '../subscriptions/subscription-registry.ts';
import { startTransport, type Transport } from '../transport/app.ts';
import { claimFreePort } from '../transport/listen.ts';
import { ConnectionRegistry } from '../transport/connections.ts';
import type { StaticAsset } from '../transport/http-routes.ts';
import { securitySettings } from '../transport/security-settings.ts';
import { openBus } from './bus.ts';
import { recordHubEvents } from './hub-events.ts';
import { startDispatch } from './dispatch.ts';
import { startMaintenance } from './maintenance.ts';
import { createOps } from './ops.ts';
import { startServices } from './services.ts';
import { shutdownHub } from './shutdown.ts';
import { openStores, type HubMode } from './stores.ts';

export interface Hub {
  readonly port: number;
  readonly mode: HubMode;
  readonly store: Store;
  readonly geo: GeoIndex;
  readonly health: GeoHealth;
  readonly ingest: IngestService;
  /** Live nearby subscriptions of this process. */
  readonly subscriptions: SubscriptionRegistry;
  readonly metrics: Metrics;
  /** Push to a driver or rider (on any hub process while the bus is on), watch who connects here. */
  readonly connections: LocalConnections;
  readonly transport: Transport;
  /** Graceful stop: no new connections, flush and ack, close sockets with 1001, close pools. */
  close(): Promise<void>;
}

export interface HubOptions {
  logger?: Logger;
  assets?: ReadonlyMap<string, StaticAsset>;
}

/**
 * The composition root: stores, then services, the connections and the
 * timers, then the transport. Each step gets what the previous ones built;
 * later parts subscribe to earlier ones' events, so nothing waits on a
 * forward reference.
 */
export async function startHub(config: Config, options: HubOptions = {}): Promise<Hub> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  // A taken port or a HOST that is not ours fails the start before stores open: a hub
  // must not migrate and seed its database only to learn that. The listen below stays exclusive.
  if (!config.HUB_SHARE_PORT) await claimFreePort(config.HOST, config.PORT);
  const metrics = createMetrics();
  const stores = await openStores(config, logger, metrics);
  const openedBus = openBus(config, metrics, logger);
  const services = await startServices(config, stores, metrics, logger, openedBus?.feeds);
  const connections = new ConnectionRegistry();
  const bus = await openedBus?.start(services, connections);
  const delivery = bus?.delivery ?? connections;
  const frameRate = new FrameRate();

  services.ingest.acks.subscribe(connections.ackDriver);
  const dispatch = startDispatch(config, stores, services, delivery, metrics, logger, bus?.relayedToDriver);
  const maintenance = await startMaintenance(config, stores, metrics, logger);
  const transport = await startTransport(
    {
      ingest: services.ingest,
      nearby: services.nearby,
      subscriptions: services.subscriptions,
      dispatch: dispatch.service,
      ops: createOps(config, stores, services, connections, metrics, frameRate),
      record: recordHubEvents(metrics, frameRate),
    },
    connections,
    {
      host: config.HOST,
      port: config.PORT,
      sharePort: config.HUB_SHARE_PORT,
      limits: {
        maxPayloadBytes: config.WS_MAX_PAYLOAD_BYTES,
        idleTimeoutSeconds: config.WS_IDLE_TIMEOUT_S,
        maxBackpressureBytes: config.WS_MAX_BACKPRESSURE_BYTES,
      },
      security: securitySettings(config),
      assets: options.assets,
      logger,
    },
  );
  // nearbyFrom: an index that is down at start must not read as serving nearby.
  const nearbyFrom = stores.health.usable ? stores.geo.source : 'postgres';
  logger.info({ port: transport.port, mode: stores.mode, geo: stores.geo.source, geoState: stores.health.state, nearbyFrom }, 'hub listening');

  let closing: Promise<void> | undefined;
  return {
    port: transport.port,
    mode: stores.mode,
    store: stores.store,
    geo: stores.geo,
    health: stores.health,
    ingest: services.ingest,
    subscriptions: services.subscriptions,
    metrics,
    connections: delivery,
    transport,
    close: () => (closing ??= shutdownHub({ transport, maintenance, services, dispatch, bus, stores, logger }, config.SHUTDOWN_DEADLINE_MS)),
  };
}
