import type { Config } from '../config.ts';
import { IngestService } from '../ingest/ingest-service.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { NearbyService } from '../nearby/nearby-service.ts';
import { ProfileCache } from '../nearby/profile-cache.ts';
import { SubscriptionRegistry } from '../subscriptions/subscription-registry.ts';
import type { WatchedAreas } from '../subscriptions/types.ts';
import type { Stores } from './stores.ts';

export interface Services {
  readonly profiles: ProfileCache;
  readonly nearby: NearbyService;
  readonly ingest: IngestService;
  readonly subscriptions: SubscriptionRegistry;
}

/**
 * The domain services over the stores, and the subscriptions between them.
 * `areas` (the cross-process bus's cell feeds) learns where live nearby
 * subscriptions look, so other processes' drivers there reach them.
 */
export async function startServices(config: Config, stores: Stores, metrics: Metrics, logger: Logger, areas?: WatchedAreas): Promise<Services> {
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
  const subscriptions = new SubscriptionRegistry({
    nearby,
    profiles,
    logger,
    moveThresholdMeters: config.SUBSCRIPTION_MOVE_METERS,
    maxHz: config.SUBSCRIPTION_MAX_HZ,
    perRider: config.SUBSCRIPTIONS_PER_RIDER,
    staleAfterMs: config.STALE_AFTER_MS,
    areas,
    observer: {
      pushed: (delayMs, waited) => metrics.subscriptionUpdateDelay.observe({ waited: waited ? 'yes' : 'no' }, delayMs / 1000),
      searched: (source) => metrics.subscriptionSearches.inc({ source }),
      visited: (count) => metrics.subscriptionVisits.inc(count),
      open: (count) => metrics.subscriptionsOpen.set(count),
    },
  });
  // After the index write, so that a search a change calls for sees the change.
  ingest.indexed.subscribe((committed) => subscriptions.apply(committed));
  return { profiles, nearby, ingest, subscriptions };
}
