import { createClient, createCluster } from 'redis';
import { cellScripts, type CellKeys } from './cell-scripts.ts';
import { keySlot } from './cluster-slot.ts';

/** The cell scripts as both node-redis clients expose them once registered. */
export interface CellScriptRunner {
  /** `keys`: the CellKeys of one or more cells, concatenated (one cell per call on a cluster). */
  searchCells(keys: string[], lng: string, lat: string, radiusKm: string, count: string, cutoffMs: string): Promise<Array<string | number>>;
  writeCell(keys: CellKeys, args: string[]): Promise<number>;
  removeStaleInCell(keys: CellKeys, cutoffMs: string): Promise<[number, ...string[]]>;
  readCell(keys: CellKeys): Promise<[string[], string[], string[]]>;
}

/**
 * One Redis or a Redis Cluster behind the same few operations. The index
 * code above it is identical for both: on a single Redis every cell lives on
 * the one server; on a cluster each cell's keys share a hash tag, so each
 * cell lives on one master and a script never crosses slots.
 */
export interface RedisBackend {
  readonly clustered: boolean;
  readonly scripts: CellScriptRunner;
  connect(): Promise<void>;
  /** Succeeds when the backend can serve anything at all (on a cluster: at least one master answers). */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Every key matching `pattern` on every server (masters only, on a
   * cluster). A cluster skips the zones `skipZone` names and reports a master
   * that fails mid-scan to `onZoneError` instead of failing the whole scan.
   */
  scan(pattern: string, skipZone: (zone: string) => boolean, onZoneError: (zone: string, error: Error) => void): Promise<string[]>;
  /** The failure zone a key lives in: its master's address on a cluster; undefined on a single Redis, which fails as a whole. */
  zoneOf(key: string): string | undefined;
  /** Pings the master of one zone. */
  pingZone(zone: string): Promise<void>;
  /** Connection failures outside any call: the whole server (single) or one master (cluster, with its zone). */
  onConnectionError(listener: (error: Error, zone: string | undefined) => void): void;
}

export interface RedisBackendOptions {
  /** A single Redis. */
  url?: string;
  /** Seed nodes of a Redis Cluster, `host:port` each: switches to the cluster client. */
  clusterNodes?: string[];
  connectTimeoutMs: number;
}

/** Reconnect quickly at first, then once a second: an outage is probed, not waited on. */
const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 1000);

function singleBackend(url: string, options: RedisBackendOptions): RedisBackend {
  const client = createClient({
    url,
    scripts: cellScripts,
    // Fail fast while disconnected: the nearby service falls back to SQL instead of waiting.
    disableOfflineQueue: true,
    pingInterval: 1000,
    // No per-command timeout in node-redis: it arms an abort signal per command
    // that fires even after the reply came. Deadlines are the hub's own (DeadlineQueue).
    commandOptions: { timeout: 0 },
    socket: { connectTimeout: options.connectTimeoutMs, reconnectStrategy },
  });
  const listeners: Array<(error: Error, zone: string | undefined) => void> = [];
  client.on('error', (error: Error) => {
    for (const listener of listeners) listener(error, undefined);
  });
  return {
    clustered: false,
    scripts: client as unknown as CellScriptRunner,
    async connect() {
      await client.connect();
    },
    async ping() {
      await client.ping();
    },
    async close() {
      // close() waits for replies a disconnected client will never get.
      if (client.isReady) await client.close();
      else if (client.isOpen) client.destroy();
    },
    async scan(pattern) {
      const keys: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) keys.push(...batch);
      return keys;
    },
    zoneOf: () => undefined,
    async pingZone() {
      await client.ping();
    },
    onConnectionError: (listener) => void listeners.push(listener),
  };
}

function clusterBackend(nodes: string[], options: RedisBackendOptions): RedisBackend {
  const cluster = createCluster({
    rootNodes: nodes.map((node) => ({ url: `redis://${node}` })),
    scripts: cellScripts,
    commandOptions: { timeout: 0 },
    defaults: {
      disableOfflineQueue: true,
      pingInterval: 1000,
      socket: { connectTimeout: options.connectTimeoutMs, reconnectStrategy },
    },
  });
  const listeners: Array<(error: Error, zone: string | undefined) => void> = [];
  // A node's own connection failing is that master's zone failing; topology
  // refresh errors ('error') name no zone and are left to the calls that fail.
  cluster.on('node-error', (error: Error, node: { host: string; port: number }) => {
    for (const listener of listeners) listener(error, `${node.host}:${node.port}`);
  });
  cluster.on('error', () => undefined);
  const masterOf = (zone: string) => cluster.masters.find((master) => master.address === zone);
  return {
    clustered: true,
    scripts: cluster as unknown as CellScriptRunner,
    async connect() {
      await cluster.connect();
    },
    async ping() {
      await Promise.any(cluster.masters.map(async (master) => (await cluster.nodeClient(master)).ping()));
    },
    async close() {
      await cluster.close().catch(() => cluster.destroy());
    },
    async scan(pattern, skipZone, onZoneError) {
      const perMaster = await Promise.all(
        cluster.masters.map(async (master) => {
          if (skipZone(master.address)) return [];
          const keys: string[] = [];
          try {
            const client = await cluster.nodeClient(master);
            for await (const batch of client.scanIterator({ MATCH: pattern, COUNT: 1000 })) keys.push(...batch);
          } catch (error) {
            onZoneError(master.address, error as Error);
            return [];
          }
          return keys;
        }),
      );
      return perMaster.flat();
    },
    zoneOf(key) {
      return cluster.slots[keySlot(key)]?.master.address;
    },
    async pingZone(zone) {
      const master = masterOf(zone);
      if (!master) throw new Error(`no master at ${zone} in the cluster's slot map`);
      await (await cluster.nodeClient(master)).ping();
    },
    onConnectionError: (listener) => void listeners.push(listener),
  };
}

export function createRedisBackend(options: RedisBackendOptions): RedisBackend {
  if (options.clusterNodes && options.clusterNodes.length > 0) return clusterBackend(options.clusterNodes, options);
  if (!options.url) throw new Error('a Redis URL or cluster nodes are required');
  return singleBackend(options.url, options);
}
