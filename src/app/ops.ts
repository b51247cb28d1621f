import type { Config } from '../config.ts';
import { withDeadline } from '../deadline.ts';
import type { FrameRate } from '../frame-rate.ts';
import type { Metrics } from '../metrics.ts';
import type { HubOps } from '../transport/ports.ts';
import type { LocalConnections } from '../bus/types.ts';
import type { Services } from './services.ts';
import type { Stores } from './stores.ts';

/** Readiness, Prometheus text and the demo's stats, read from the stores, the services and the connections. */
export function createOps(config: Config, stores: Stores, services: Services, connections: LocalConnections, metrics: Metrics, frameRate: FrameRate): HubOps {
  const { store, geo, health } = stores;
  const { ingest, profiles } = services;
  return {
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
    metricsText() {
      metrics.pendingFrames.set(ingest.pendingCount);
      metrics.syncStoreRoundTrips(store.roundTrips);
      return metrics.registry.metrics();
    },
    metricsContentType: metrics.registry.contentType,
    stats: () => ({
      driversOnline: profiles.countByStatus('online'),
      framesPerSecond: frameRate.perSecond(),
      connections: connections.counts(),
    }),
  };
}
