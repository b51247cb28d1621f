import { createClient, createCluster, defineScript } from 'redis';

// A driver's presence key holds "<process>#<serial>" of its current socket.
// Both scripts touch that one key only, so they run on any node of a cluster.

/** Keeps the key alive while it still names this socket, and writes it back if it is gone (a Redis restarted empty). */
const refreshDriver = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: `
    local current = redis.call('GET', KEYS[1])
    if current == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
    if current then return 0 end
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return 1
  `,
  parseCommand(parser, key: string, token: string, ttlMs: string) {
    parser.pushKey(key);
    parser.push(token, ttlMs);
  },
  transformReply: (reply: unknown) => reply as number,
});

/** Deletes the key only while it names this socket: a newer socket elsewhere keeps its claim. */
const releaseDriver = defineScript({
  NUMBER_OF_KEYS: 1,
  SCRIPT: `
    if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
    return 0
  `,
  parseCommand(parser, key: string, token: string) {
    parser.pushKey(key);
    parser.push(token);
  },
  transformReply: (reply: unknown) => reply as number,
});

const busScripts = { refreshDriver, releaseDriver };

/** The commands the bus sends, as both node-redis clients expose them. */
interface BusCommands {
  set(key: string, value: string, options: { expiration: { type: 'PX'; value: number }; GET: true }): Promise<string | null>;
  get(key: string): Promise<string | null>;
  pExpire(key: string, ms: number): Promise<number>;
  zAdd(key: string, members: Array<{ score: number; value: string }>): Promise<number>;
  zRem(key: string, member: string): Promise<number>;
  zRangeByScore(key: string, min: number | string, max: number | string): Promise<string[]>;
  zRemRangeByScore(key: string, min: number | string, max: number | string): Promise<number>;
  refreshDriver(key: string, token: string, ttlMs: string): Promise<number>;
  releaseDriver(key: string, token: string): Promise<number>;
}

type BufferListener = (message: Buffer) => void;

/**
 * What the bus needs of Redis, on one server or a cluster: keys for
 * presence and watched cells, and pub/sub. On a cluster, pub/sub is sharded
 * (SPUBLISH/SSUBSCRIBE): a channel lives on the master of its slot, so
 * messages travel through one node instead of being copied to every node as
 * classic PUBLISH does on a cluster.
 */
export interface BusLink {
  readonly commands: BusCommands;
  connect(): Promise<void>;
  /**
   * Connects again if the first connection failed for good (a cluster none
   * of whose seed nodes answered at start); a single client retries by itself.
   */
  reconnectIfClosed(): void;
  publish(channel: string, payload: Buffer): Promise<void>;
  /**
   * Subscribes, or does nothing when the channel already is: callers repeat it
   * on their timers, which takes up a subscription that failed (Redis was down).
   * Once subscribed, node-redis itself subscribes again after a reconnection.
   */
  subscribe(channel: string, listener: BufferListener): Promise<void>;
  unsubscribe(channel: string, listener: BufferListener): Promise<void>;
  onError(listener: (error: Error) => void): void;
  close(): Promise<void>;
}

export interface BusLinkOptions {
  url?: string;
  clusterNodes?: string[];
  connectTimeoutMs: number;
}

/** Reconnect quickly at first, then once a second, as the geo index does. */
const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 1000);

function singleLink(url: string, options: BusLinkOptions): BusLink {
  const client = createClient({
    url,
    scripts: busScripts,
    // Fail fast while disconnected: a push that cannot cross processes now is dropped, not queued behind an outage.
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    socket: { connectTimeout: options.connectTimeoutMs, reconnectStrategy },
  });
  // A connection in subscriber mode takes no other commands: pub/sub has its own.
  const subscriber = client.duplicate();
  return {
    commands: client,
    async connect() {
      await Promise.all([client.connect(), subscriber.connect()]);
    },
    reconnectIfClosed: () => undefined,
    async publish(channel, payload) {
      await client.publish(channel, payload);
    },
    subscribe: (channel, listener) => subscriber.subscribe(channel, listener, true),
    unsubscribe: (channel, listener) => subscriber.unsubscribe(channel, listener, true),
    onError(listener) {
      client.on('error', listener);
      subscriber.on('error', listener);
    },
    async close() {
      // close() waits for replies a disconnected client will never get.
      for (const each of [client, subscriber]) if (!each.isReady && each.isOpen) each.destroy();
      await Promise.all([client, subscriber].filter((each) => each.isReady).map((each) => each.close()));
    },
  };
}

function clusterLink(nodes: string[], options: BusLinkOptions): BusLink {
  const cluster = createCluster({
    rootNodes: nodes.map((node) => ({ url: `redis://${node}` })),
    scripts: busScripts,
    commandOptions: { timeout: 0 },
    defaults: { disableOfflineQueue: true, socket: { connectTimeout: options.connectTimeoutMs, reconnectStrategy } },
  });
  return {
    commands: cluster,
    async connect() {
      await cluster.connect();
    },
    reconnectIfClosed() {
      if (!cluster.isOpen) cluster.connect().catch(() => undefined);
    },
    async publish(channel, payload) {
      await cluster.sPublish(channel, payload);
    },
    subscribe: (channel, listener) => cluster.sSubscribe(channel, listener, true),
    unsubscribe: (channel, listener) => cluster.sUnsubscribe(channel, listener, true),
    onError(listener) {
      cluster.on('error', listener);
      cluster.on('node-error', listener);
    },
    async close() {
      await cluster.close().catch(() => cluster.destroy());
    },
  };
}

export function createBusLink(options: BusLinkOptions): BusLink {
  if (options.clusterNodes && options.clusterNodes.length > 0) return clusterLink(options.clusterNodes, options);
  if (!options.url) throw new Error('the bus needs a Redis URL or cluster nodes');
  return singleLink(options.url, options);
}
