import type { Config } from './config.ts';
import { createMemoryIndex } from './geo/memory-index.ts';
import { createRedisIndex } from './geo/redis-index.ts';
import type { GeoIndex } from './geo/types.ts';
import { IngestService } from './ingest/ingest-service.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { GeoHealth } from './nearby/geo-health.ts';
import { NearbyService } from './nearby/nearby-service.ts';
import { ProfileCache } from './nearby/profile-cache.ts';
import { generateFleet, TIMES_SQUARE } from './seed/fleet.ts';
import { openStore } from './store/open-store.ts';
import type { Store } from './store/types.ts';
import { repairIndex } from './sync/index-repair.ts';
import { startPositionVacuum } from './sync/position-vacuum.ts';
import { startHistoryMaintenance } from './sync/history-maintenance.ts';
import { startTransport, type Transport } from './transport/app.ts';
import type { StaticAsset } from './transport/http-routes.ts';
import type { HubServices } from './transport/ports.ts';
import { securitySettings } from './transport/security-settings.ts';
import { FrameRate } from './frame-rate.ts';
import { withDeadline } from './deadline.ts';
import { HubError } from './protocol/errors.ts';

export interface Hub {
  readonly port: number;
  readonly mode: 'server' | 'embedded';
  readonly store: Store;
  readonly geo: GeoIndex;
  readonly ingest: IngestService;
  readonly metrics: Metrics;
  readonly health: GeoHealth;
  readonly transport: Transport;
  /** Graceful stop: no new connections, flush and ack, close sockets with 1001, close pools. */
  close(): Promise<void>;
}

export interface HubOptions {
  logger?: Logger;
  assets?: ReadonlyMap<string, StaticAsset>;
}

async function openStores(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  onGeoConnectionError: (error: Error) => void,
): Promise<{ store: Store; geo: GeoIndex; mode: Hub['mode'] }> {
  if (!config.DATABASE_URL) {
    if (config.NODE_ENV === 'production' && !config.ALLOW_EMBEDDED) {
      throw new Error('DATABASE_URL is not set and NODE_ENV=production: refusing embedded mode (set ALLOW_EMBEDDED=true to allow it)');
    }
    logger.warn({ dataDir: config.DATA_DIR }, 'EMBEDDED MODE: PGlite database in DATA_DIR and an in-process geo index; set DATABASE_URL and REDIS_URL for production');
  }
  const store = await openStore(config, (error) => {
    metrics.storeErrors.inc({ op: 'pool' });
    logger.warn({ err: error }, 'postgres client error');
  });
  if (!config.DATABASE_URL) return { store, geo: createMemoryIndex(), mode: 'embedded' };
  if (!config.REDIS_URL) {
    logger.info('server mode: PostgreSQL with the in-process geo index (REDIS_URL is not set)');
    return { store, geo: createMemoryIndex(), mode: 'server' };
  }
  const redis = createRedisIndex({
    url: config.REDIS_URL,
    keyPrefix: config.REDIS_KEY_PREFIX,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    onError: (error) => {
      logger.debug({ err: error }, 'redis client error');
      onGeoConnectionError(error);
    },
  });
  logger.info('server mode: PostgreSQL with the Redis geo index');
  return { store, geo: redis, mode: 'server' };
}

async function seedEmbeddedFleet(store: Store, count: number, logger: Logger): Promise<void> {
  if (count === 0 || (await store.countDrivers()) > 0) return;
  const fleet = [...generateFleet({ count, seed: 1, center: TIMES_SQUARE, radiusKm: 8, onlineShare: 0.7 })];
  await store.insertDrivers(fleet);
  logger.info({ drivers: count }, 'seeded a demo fleet into the empty embedded database');
}

/**
 * How the shutdown deadline is shared: most of it for committing what is
 * pending, then up to a fifth (at most a second) each for clients to read
 * the 1001 close and for the pools to close, so the whole stop fits in it.
 */
function shutdownBudget(deadlineMs: number): { drainMs: number; socketsMs: number; poolsMs: number } {
  const closeMs = Math.min(1000, Math.floor(deadlineMs / 5));
  return { drainMs: deadlineMs - 2 * closeMs, socketsMs: closeMs, poolsMs: closeMs };
}

export async function startHub(config: Config, options: HubOptions = {}): Promise<Hub> {
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const metrics = createMetrics();
  // A dropped Redis connection may mean a restarted, empty Redis: it must
  // count as a failure even when no command was running, so that reads switch
  // back only after a repair. The health monitor exists only after the index.
  let geoHealth: GeoHealth | undefined;
  const { store, geo, mode } = await openStores(config, logger, metrics, (error) => geoHealth?.reportFailure(error, 'connection'));
  await store.migrate();
  const historyMaintenance = await startHistoryMaintenance(store, config.HISTORY_MAINTENANCE_INTERVAL_MS, metrics, logger);
  if (mode === 'embedded') await seedEmbeddedFleet(store, config.EMBEDDED_SEED_DRIVERS, logger);

  const repair = () => repairIndex(store, geo, config.STALE_AFTER_MS, logger).then(() => undefined);
  const health = new GeoHealth({
    probeIntervalMs: config.REDIS_PROBE_INTERVAL_MS,
    probe: () => geo.ping(),
    repair,
    logger,
    onChange: (state) => metrics.geoFallback.set(state === 'up' ? 0 : 1),
  });
  geoHealth = health;
  if ('connect' in geo && typeof geo.connect === 'function') {
    // node-redis keeps retrying a first connection for as long as it takes: the
    // hub starts on the SQL fallback instead, and the probe loop sees Redis arrive.
    const connecting = (geo.connect as () => Promise<void>)();
    await withDeadline(connecting, Math.max(1000, config.REDIS_COMMAND_TIMEOUT_MS), 'redis connect').catch((error: Error) =>
      health.reportFailure(error, 'connect'),
    );
  }
  if (health.usable) await repair().catch((error: Error) => health.reportFailure(error, 'startup repair'));

  const profiles = new ProfileCache(store, config.PROFILE_REFRESH_MS, logger);
  await profiles.start();
  const nearby = new NearbyService({ geo, store, profiles, health, metrics, logger, staleAfterMs: config.STALE_AFTER_MS });

  let transport: Transport | undefined;
  const ingest = new IngestService({
    store,
    geo,
    metrics,
    logger,
    batchMaxFrames: config.BATCH_MAX_FRAMES,
    flushMs: config.BATCH_FLUSH_MS,
    pendingMaxFrames: config.PENDING_MAX_FRAMES,
    batchesInFlight: config.BATCHES_IN_FLIGHT,
    acks: { ack: (driverId, seq) => transport?.drivers.ack(driverId, seq) },
    onCommitted: (drivers) => {
      for (const driver of drivers) profiles.setStatus(driver.id, driver.status);
    },
    onGeoWriteFailed: (error) => health.reportFailure(error, 'apply'),
    geoWritable: () => health.state !== 'down',
  });
  const frameRate = new FrameRate();

  const services: HubServices = {
    async resumePoint(driverId) {
      let points;
      try {
        points = await store.resumePoints([driverId]);
      } catch (error) {
        metrics.storeErrors.inc({ op: 'resume_point' });
        logger.warn({ err: error, driverId }, 'resume point unavailable; driver must reconnect later');
        throw new HubError('unavailable', 'the database is unavailable; reconnect shortly', 1000);
      }
      return points.get(driverId) ?? null;
    },
    registerDriver: (driverId, seq) => ingest.registerDriver(driverId, seq),
    releaseDriver: (driverId) => ingest.releaseDriver(driverId),
    acceptLocation(driverId, frame, receivedAtMs) {
      frameRate.count();
      return ingest.acceptLocation(driverId, frame, receivedAtMs);
    },
    refuseLocation: (driverId, seq) => ingest.refuseLocation(driverId, seq),
    acceptStatus: (driverId, status, receivedAtMs) => ingest.acceptStatus(driverId, status, receivedAtMs),
    findNearby: (criteria) => nearby.find(criteria),
    async updateLocationNow(driverId, lat, lng) {
      const driver = await store.updateLocation(driverId, lat, lng);
      if (!driver) return null;
      const online = driver.status === 'online';
      const changes = online
        ? { ids: [driver.id], lats: [lat], lngs: [lng], seenAtMs: [Date.parse(driver.updatedAt)], removeIds: [] }
        : { ids: [], lats: [], lngs: [], seenAtMs: [], removeIds: [driver.id] };
      await geo.apply(changes).catch((error: Error) => {
        metrics.geoErrors.inc({ op: 'apply' });
        health.reportFailure(error, 'apply');
      });
      return driver;
    },
    async driverTrack(query) {
      if (!(await store.getDriver(query.driverId))) return null;
      return store.driverTrack(query);
    },
    async readiness() {
      // Bounded: a database that stopped answering must turn the probe red, not hang it.
      const postgres = await withDeadline(store.ping(), config.READINESS_TIMEOUT_MS, 'database ping').then(
        () => 'up' as const,
        () => 'down' as const,
      );
      return { ready: postgres === 'up', postgres, geo: { kind: geo.source, state: health.state }, pendingFrames: ingest.pendingCount };
    },
    metricsText: () => {
      metrics.pendingFrames.set(ingest.pendingCount);
      metrics.syncStoreRoundTrips(store.roundTrips);
      return metrics.registry.metrics();
    },
    metricsContentType: metrics.registry.contentType,
    onConnectionCountChange: (role, delta) => metrics.connections.inc({ role }, delta),
    onFrameRefused: (reason) => metrics.framesRefused.inc({ reason }),
    onFrameReceived: (type) => metrics.framesReceived.inc({ type }),
    onSocketClosedByHub: (reason) => metrics.socketsClosedByHub.inc({ reason }),
    onResultCoalesced: () => metrics.resultsCoalesced.inc(),
    onSlowSocketCount: (count) => metrics.slowSockets.set(count),
    onUpgradeRefused: (code) => metrics.upgradesRefused.inc({ code }),
    stats: () => ({
      driversOnline: profiles.countByStatus('online'),
      framesPerSecond: frameRate.perSecond(),
      connections: transport?.connectionCounts() ?? { drivers: 0, riders: 0 },
    }),
  };

  transport = await startTransport(services, {
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
  });

  const sweeper = setInterval(() => {
    if (!health.usable) return;
    geo.removeStale(Date.now() - config.STALE_AFTER_MS).catch((error: Error) => {
      metrics.geoErrors.inc({ op: 'remove_stale' });
      health.reportFailure(error, 'remove_stale');
    });
  }, Math.min(5000, Math.ceil(config.STALE_AFTER_MS / 3)));
  const reconciler = setInterval(() => {
    if (!health.usable) return;
    repair().catch((error: Error) => health.reportFailure(error, 'reconcile'));
  }, config.RECONCILE_INTERVAL_MS);
  sweeper.unref();
  reconciler.unref();
  const vacuum = startPositionVacuum(store, config.POSITIONS_VACUUM_INTERVAL_MS, metrics, logger);

  logger.info({ port: transport.port, mode, geo: geo.source, geoState: health.state }, 'hub listening');
  const startedTransport = transport;

  let closing: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    startedTransport.stopListening();
    clearInterval(sweeper);
    clearInterval(reconciler);
    vacuum.stop();
    historyMaintenance.stop();
    const budget = shutdownBudget(config.SHUTDOWN_DEADLINE_MS);
    const drained = await Promise.race([
      ingest.drain().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), budget.drainMs).unref()),
    ]);
    if (!drained) logger.error({ pending: ingest.pendingCount }, 'shutdown deadline passed with frames not committed; they were never acked');
    ingest.stop();
    const open = startedTransport.connectionCounts();
    startedTransport.closeAll('hub shutting down');
    // uWS forgets a socket as soon as it sends the close frame, but the client
    // still has to read it. Exiting at once would reset connections whose
    // clients are still sending, and a reset can discard the unread 1001. The
    // event loop keeps running meanwhile, so those sockets close cleanly.
    if (open.drivers + open.riders > 0) await new Promise((resolve) => setTimeout(resolve, budget.socketsMs));
    profiles.stop();
    health.stop();
    // A pool waits for its busy connections; one stuck on a dead server must not hold the exit past the deadline.
    const closed = await Promise.allSettled([withDeadline(geo.close(), budget.poolsMs, 'geo close'), withDeadline(store.close(), budget.poolsMs, 'store close')]);
    for (const result of closed) if (result.status === 'rejected') logger.warn({ err: result.reason }, 'a pool did not close cleanly');
    logger.info({ drained }, 'hub stopped');
  }

  return {
    port: transport.port,
    mode,
    store,
    geo,
    ingest,
    metrics,
    health,
    transport,
    close: () => (closing ??= shutdown()),
  };
}
