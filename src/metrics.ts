import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { BucketHistogram } from './telemetry/bucket-histogram.ts';
import { eventLoopMonitor } from './telemetry/event-loop-monitor.ts';

/**
 * Every Prometheus metric of the hub, on a registry of its own so that
 * several hubs in one test process never collide.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hub_' });
  const registers = [registry];
  // The process-wide loop monitor renders itself; every hub in the process shows the same loop.
  registry.registerMetric(eventLoopMonitor().delay as unknown as Metric);
  /** A histogram observed per frame or per slice: cheaper than prom-client's, rendered by the same registry. */
  const bucketHistogram = (name: string, help: string, bounds: number[]) => {
    const histogram = new BucketHistogram(name, help, bounds);
    registry.registerMetric(histogram as unknown as Metric);
    return histogram;
  };
  const storeRoundTrips = new Counter({
    name: 'hub_store_round_trips_total',
    help: 'Statements sent to PostgreSQL (one per batch on the ingest path)',
    registers,
  });
  let storeRoundTripsSeen = 0;
  return {
    registry,
    connections: new Gauge({ name: 'hub_connections', help: 'Open WebSocket connections by role', labelNames: ['role'] as const, registers }),
    framesReceived: new Counter({ name: 'hub_frames_received_total', help: 'Driver frames received, by type', labelNames: ['type'] as const, registers }),
    framesAcked: new Counter({ name: 'hub_frames_acked_total', help: 'Location frames committed and acknowledged', registers }),
    ackLatency: bucketHistogram(
      'hub_ack_latency_seconds',
      'Per location frame: received by the hub to its ack sent (the flush wait, the commit and the ack queue)',
      [0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10],
    ),
    ackSlices: bucketHistogram(
      'hub_ack_slice_duration_seconds',
      'How long each synchronous run of acks held the event loop before yielding to socket I/O',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1],
    ),
    framesRefused: new Counter({ name: 'hub_frames_refused_total', help: 'Frames refused, by error code', labelNames: ['reason'] as const, registers }),
    socketsClosedByHub: new Counter({
      name: 'hub_sockets_closed_total',
      help: 'Sockets the hub closed on purpose, by reason (rate_abuse 1008, token_expired 4401, too_slow 4008)',
      labelNames: ['reason'] as const,
      registers,
    }),
    resultsCoalesced: new Counter({ name: 'hub_results_coalesced_total', help: 'Nearby results held back because the rider read too slowly', registers }),
    slowSockets: new Gauge({ name: 'hub_slow_sockets', help: 'Sockets whose outbound buffer is over WS_MAX_BACKPRESSURE_BYTES', registers }),
    upgradesRefused: new Counter({
      name: 'hub_upgrades_refused_total',
      help: 'WebSocket upgrades refused, by error code',
      labelNames: ['code'] as const,
      registers,
    }),
    duplicateFrames: new Counter({ name: 'hub_frames_duplicate_total', help: 'Location frames at or below the committed seq (resends)', registers }),
    batchSize: new Histogram({
      name: 'hub_batch_frames',
      help: 'Frames per flushed batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000],
      registers,
    }),
    flushDuration: new Histogram({
      name: 'hub_flush_duration_seconds',
      help: 'Time to commit one batch to the database',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    nearbyLatency: new Histogram({
      name: 'hub_nearby_duration_seconds',
      help: 'Nearby query latency inside the hub, by source',
      labelNames: ['source'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    rides: new Counter({
      name: 'hub_rides_total',
      help: 'Rides reaching each status (requested, assigned, arrived, started, completed, cancelled, unmatched)',
      labelNames: ['status'] as const,
      registers,
    }),
    rideAssignSeconds: new Histogram({
      name: 'hub_ride_assign_seconds',
      help: 'Time from ride request to assignment',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60],
      registers,
    }),
    offersSent: new Counter({ name: 'hub_offers_sent_total', help: 'Ride offers sent to drivers', registers }),
    storeErrors: new Counter({ name: 'hub_store_errors_total', help: 'PostgreSQL errors, by operation', labelNames: ['op'] as const, registers }),
    geoErrors: new Counter({ name: 'hub_geo_errors_total', help: 'Geo index (Redis) errors, by operation', labelNames: ['op'] as const, registers }),
    geoFallback: new Gauge({ name: 'hub_geo_fallback', help: '1 while nearby answers from the SQL fallback', registers }),
    pendingFrames: new Gauge({ name: 'hub_pending_frames', help: 'Frames queued or in flight to the database', registers }),
    reconcileDuration: new Histogram({
      name: 'hub_reconcile_pass_seconds',
      help: 'One reconcile pass of the geo index against PostgreSQL, by kind (incremental, or the full audit)',
      labelNames: ['pass'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    }),
    reconcileIndexDuration: new Histogram({
      name: 'hub_reconcile_index_seconds',
      help: "The part of a reconcile pass spent in the geo index's (Redis's) write, by kind",
      labelNames: ['pass'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    reconcileChecked: new Counter({
      name: 'hub_reconcile_drivers_checked_total',
      help: 'Drivers a reconcile pass compared with the index, by kind',
      labelNames: ['pass'] as const,
      registers,
    }),
    reconcileRepaired: new Counter({
      name: 'hub_reconcile_drivers_repaired_total',
      help: 'Index members a reconcile pass wrote or removed because the index was behind PostgreSQL, by kind',
      labelNames: ['pass'] as const,
      registers,
    }),
    geoPositionsWritten: new Counter({ name: 'hub_geo_positions_written_total', help: 'Driver positions written to the geo index after a commit', registers }),
    subscriptionsOpen: new Gauge({ name: 'hub_subscriptions_open', help: 'Open live-nearby subscriptions', registers }),
    subscriptionUpdateDelay: new Histogram({
      name: 'hub_subscription_update_delay_seconds',
      help: 'From the first change a nearby.update reports (once indexed) or the request, to its sending; waited="yes" when the rate limit or a full connection held it back',
      labelNames: ['waited'] as const,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    subscriptionSearches: new Counter({
      name: 'hub_subscription_searches_total',
      help: 'Full nearby searches made for subscriptions, by source (or failed)',
      labelNames: ['source'] as const,
      registers,
    }),
    busMessages: new Counter({
      name: 'hub_bus_messages_total',
      help: 'Cross-process bus messages, by direction (sent, delivered, undelivered: its socket had gone) and kind',
      labelNames: ['direction', 'kind'] as const,
      registers,
    }),
    busErrors: new Counter({
      name: 'hub_bus_errors_total',
      help: 'Failed Redis calls of the cross-process bus, by operation',
      labelNames: ['op'] as const,
      registers,
    }),
    subscriptionVisits: new Counter({ name: 'hub_subscription_visits_total', help: 'Subscriptions committed driver changes had to look at', registers }),
    /** The store keeps its own running total of round trips; this carries it into the counter. */
    syncStoreRoundTrips(total: number): void {
      if (total > storeRoundTripsSeen) storeRoundTrips.inc(total - storeRoundTripsSeen);
      storeRoundTripsSeen = Math.max(storeRoundTripsSeen, total);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
