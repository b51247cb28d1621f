import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BusKeys } from '../bus/bus-keys.ts';
import { CellFeeds } from '../bus/cell-feeds.ts';
import { HubBus, type BusObserver } from '../bus/hub-bus.ts';
import { createBusLink, type BusLink } from '../bus/redis-link.ts';
import type { LocalConnections } from '../bus/types.ts';
import type { Config } from '../config.ts';
import { withDeadline } from '../deadline.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { Signal } from '../signal.ts';
import type { Services } from './services.ts';

/** How often a process re-reads which cells anyone watches: the most a new subscription waits for other processes' drivers to flow in. */
const FEED_REFRESH_MS = 500;
/** A watched cell nobody refreshes leaves the shared set after this long. */
const FEED_WATCH_TTL_MS = 5000;

export interface RunningBus {
  /** This process's sockets, and the rest of the hub's through Redis. */
  readonly delivery: LocalConnections;
  /** Messages other processes sent to drivers connected here. */
  readonly relayedToDriver: Signal<[number, ServerMessage]>;
  stop(): Promise<void>;
}

/** The bus before the services exist: the subscriptions need its cell feeds to say where they look. */
export interface OpenedBus {
  readonly feeds: CellFeeds;
  start(services: Services, connections: LocalConnections): Promise<RunningBus>;
}

export function busEnabled(config: Config): boolean {
  return config.HUB_BUS ?? Boolean(config.REDIS_URL || config.REDIS_CLUSTER_NODES);
}

/** Opens the cross-process bus when it is on (see HUB_BUS); undefined otherwise, and the hub delivers to its own sockets only. */
export function openBus(config: Config, metrics: Metrics, logger: Logger): OpenedBus | undefined {
  if (!busEnabled(config)) return undefined;
  const log = logger.child({ component: 'bus' });
  const link = createBusLink({
    url: config.REDIS_URL,
    clusterNodes: config.REDIS_CLUSTER_NODES,
    connectTimeoutMs: Math.max(1000, config.REDIS_COMMAND_TIMEOUT_MS),
  });
  link.onError((error) => log.debug({ err: error }, 'bus connection error'));
  const keys = new BusKeys(config.REDIS_KEY_PREFIX);
  const processId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const observer: BusObserver = {
    sent: (kind) => metrics.busMessages.inc({ direction: 'sent', kind }),
    received: (kind, delivered) => metrics.busMessages.inc({ direction: delivered ? 'delivered' : 'undelivered', kind }),
    unreachable: (role) => metrics.busMessages.inc({ direction: 'unreachable', kind: role }),
    failed(op, error) {
      metrics.busErrors.inc({ op });
      log.debug({ err: error, op }, 'bus call failed');
    },
  };
  const feeds = new CellFeeds({ link, keys, processId, refreshMs: FEED_REFRESH_MS, watchTtlMs: FEED_WATCH_TTL_MS, observer });
  return {
    feeds,
    start: (services, connections) => startBus({ config, link, keys, processId, feeds, observer, services, connections, log }),
  };
}

interface BusParts {
  config: Config;
  link: BusLink;
  keys: BusKeys;
  processId: string;
  feeds: CellFeeds;
  observer: BusObserver;
  services: Services;
  connections: LocalConnections;
  log: Logger;
}

async function startBus(parts: BusParts): Promise<RunningBus> {
  const { config, link, keys, processId, feeds, observer, services, connections, log } = parts;
  const bus = new HubBus({
    link,
    keys,
    processId,
    local: connections,
    presenceTtlMs: config.BUS_PRESENCE_TTL_MS,
    heartbeatMs: Math.floor(config.BUS_PRESENCE_TTL_MS / 3),
    observer,
  });
  // Like the geo index: an unreachable Redis does not hold the hub back; pushes stay local until it is back.
  const connected = await withDeadline(link.connect(), Math.max(1000, config.REDIS_COMMAND_TIMEOUT_MS), 'bus connect').then(
    () => true,
    (error: unknown) => {
      log.warn({ err: error }, 'bus not connected: pushes reach this process only until Redis is back');
      return false;
    },
  );
  await Promise.all([bus.start(), feeds.start()]).catch((error: unknown) => observer.failed('start', error));
  // After the index write, as for this process's own subscriptions: a search the change calls for elsewhere sees it.
  services.ingest.indexed.subscribe((committed) => feeds.publish(committed));
  feeds.remote.subscribe((committed) => {
    for (let i = 0; i < committed.ids.length; i++) services.profiles.setStatus(committed.ids[i]!, committed.statuses[i]!);
    services.subscriptions.apply(committed);
  });
  log.info({ processId, connected, cluster: Boolean(config.REDIS_CLUSTER_NODES) }, 'cross-process bus on');
  return {
    delivery: bus,
    relayedToDriver: bus.relayedToDriver,
    async stop() {
      await Promise.all([feeds.stop(), bus.stop()]);
      await link.close();
    },
  };
}
