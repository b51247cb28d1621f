import type { Config } from '../config.ts';
import { IngestService } from '../ingest/ingest-service.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { NearbyService } from '../nearby/nearby-service.ts';
import { ProfileCache } from '../nearby/profile-cache.ts';
import type { Stores } from './stores.ts';

export interface Services {
  readonly profiles: ProfileCache;
  readonly nearby: NearbyService;
  readonly ingest: IngestService;
}

/** The domain services over the stores, and the subscriptions between them. */
export async function startServices(config: Config, stores: Stores, metrics: Metrics, logger: Logger): Promise<Services> {
  const { store, geo, health } = stores;
  const profiles = new ProfileCache(store, config.PROFILE_REFRESH_MS, logger);
  await profiles.start();
  const nearby = new NearbyService({ geo, store, profiles, health, metrics, logger, staleAfterMs: config.STALE_AFTER_MS });
  const ingest = new IngestService({
    store,
    geo,
    health,
    metrics,
    logger,
    batchMaxFrames: config.BATCH_MAX_FRAMES,
    flushMs: config.BATCH_FLUSH_MS,
    pendingMaxFrames: config.PENDING_MAX_FRAMES,
    batchesInFlight: config.BATCHES_IN_FLIGHT,
  });
  // Statuses the hub commits reach the cache at once, not at the next refresh.
  ingest.committed.subscribe((committed) => {
    for (let i = 0; i < committed.ids.length; i++) profiles.setStatus(committed.ids[i]!, committed.statuses[i]!);
  });
  return { profiles, nearby, ingest };
}
