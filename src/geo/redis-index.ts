import { createClient, defineScript, type RedisClientType } from 'redis';
import { DeadlineQueue } from '../deadline.ts';
import { Signal } from '../signal.ts';
import type { GeoChanges, GeoEntry, GeoIndex, GeoSearch, GeoSearchResult } from './types.ts';

/** Redis's geohash covers latitudes up to this (Web Mercator's limit). */
const REDIS_MAX_ABS_LATITUDE = 85.05112878;

/** GEOADD arguments per command: bounded so one huge batch never blocks Redis for long. */
const GEOADD_CHUNK = 5000;

// GEOSEARCH, the last-seen lookup and the exact positions in one round trip.
// Staleness is judged by Redis's shared record of frames (right for several
// hubs), and positions come from the exact-coordinates hash because GEOADD
// stores 52-bit geohashes: ranking by those would swap drivers a metre apart.
// Reply: [examined, farthestKm, id1, "lat,lng", id2, "lat,lng", ...].
const searchFresh = defineScript({
  NUMBER_OF_KEYS: 3,
  SCRIPT: `
    local hits = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', ARGV[3], 'km', 'ASC', 'COUNT', ARGV[4], 'WITHDIST')
    local out = { #hits, '0' }
    if #hits == 0 then return out end
    out[2] = hits[#hits][2]
    local members = {}
    for i, hit in ipairs(hits) do members[i] = hit[1] end
    local seen = redis.call('ZMSCORE', KEYS[2], unpack(members))
    local positions = redis.call('HMGET', KEYS[3], unpack(members))
    local cutoff = tonumber(ARGV[5])
    for i, member in ipairs(members) do
      local at = seen[i]
      if at and tonumber(at) >= cutoff and positions[i] then
        out[#out + 1] = member
        out[#out + 1] = positions[i]
      end
    end
    return out
  `,
  parseCommand(parser, keys: [string, string, string], lng: string, lat: string, radiusKm: string, count: string, cutoffMs: string) {
    parser.pushKeys(keys);
    parser.push(lng, lat, radiusKm, count, cutoffMs);
  },
  transformReply: (reply: unknown) => reply as Array<string | number>,
});

// Stale removal must take members out of every structure together, or a
// member could be searchable with no last-seen score or position.
const removeStale = defineScript({
  NUMBER_OF_KEYS: 3,
  SCRIPT: `
    local stale = redis.call('ZRANGE', KEYS[2], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, 10000)
    if #stale > 0 then
      redis.call('ZREM', KEYS[1], unpack(stale))
      redis.call('ZREM', KEYS[2], unpack(stale))
      redis.call('HDEL', KEYS[3], unpack(stale))
    end
    return stale
  `,
  parseCommand(parser, keys: [string, string, string], cutoffMs: string) {
    parser.pushKeys(keys);
    parser.push(cutoffMs);
  },
  transformReply: (reply: unknown) => reply as string[],
});

const scripts = { searchFresh, removeStale };
type HubRedisClient = RedisClientType<Record<string, never>, Record<string, never>, typeof scripts>;

export interface RedisIndexOptions {
  url: string;
  keyPrefix: string;
  commandTimeoutMs: number;
}

export function createRedisIndex(options: RedisIndexOptions): GeoIndex {
  const geoKey = `${options.keyPrefix}geo:drivers`;
  const seenKey = `${options.keyPrefix}geo:seen`;
  const positionKey = `${options.keyPrefix}geo:pos`;
  const keys: [string, string, string] = [geoKey, seenKey, positionKey];
  const client = createClient({
    url: options.url,
    scripts,
    // Fail fast while disconnected: the nearby service falls back to SQL instead of waiting.
    disableOfflineQueue: true,
    pingInterval: 1000,
    // No per-command timeout in node-redis: it arms an abort signal per command
    // that fires even after the reply came. Deadlines are the hub's own (below).
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: Math.max(1000, options.commandTimeoutMs),
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
    },
  }) as unknown as HubRedisClient;
  const connectionErrors = new Signal<[Error]>();
  client.on('error', (error: Error) => connectionErrors.emit(error));
  // Every call is bounded by one mechanism, the hub's DeadlineQueue: a Redis
  // that accepts bytes but never answers fails the caller, a reply that has
  // arrived is never timed out because the event loop was busy, and a late
  // reply is simply ignored. A repair writes the whole fleet in one pipeline:
  // its tail legitimately waits longer than one interactive command may.
  const interactive = new DeadlineQueue(options.commandTimeoutMs);
  const bulk = new DeadlineQueue(Math.max(30_000, options.commandTimeoutMs));

  return {
    source: 'redis',
    maxAbsLatitude: REDIS_MAX_ABS_LATITUDE,
    async connect() {
      await client.connect();
    },
    onConnectionError: (listener) => connectionErrors.subscribe(listener),

    async apply(changes: GeoChanges) {
      const deadlines = changes.ids.length + changes.removeIds.length > GEOADD_CHUNK ? bulk : interactive;
      const pending: Promise<unknown>[] = [];
      const polar: string[] = [];
      for (let start = 0; start < changes.ids.length; start += GEOADD_CHUNK) {
        const end = Math.min(start + GEOADD_CHUNK, changes.ids.length);
        const geoArgs = ['GEOADD', geoKey];
        const seenArgs = ['ZADD', seenKey];
        const positionArgs = ['HSET', positionKey];
        for (let i = start; i < end; i++) {
          const id = String(changes.ids[i]);
          // GEOADD would fail the whole command for one polar position.
          if (Math.abs(changes.lats[i]!) > REDIS_MAX_ABS_LATITUDE) {
            polar.push(id);
            continue;
          }
          const lat = String(changes.lats[i]);
          const lng = String(changes.lngs[i]);
          geoArgs.push(lng, lat, id);
          seenArgs.push(String(changes.seenAtMs[i]), id);
          positionArgs.push(id, `${lat},${lng}`);
        }
        if (geoArgs.length > 2) pending.push(client.sendCommand(geoArgs), client.sendCommand(seenArgs), client.sendCommand(positionArgs));
      }
      if (changes.removeIds.length > 0 || polar.length > 0) {
        const ids = [...changes.removeIds.map(String), ...polar];
        pending.push(
          client.sendCommand(['ZREM', geoKey, ...ids]),
          client.sendCommand(['ZREM', seenKey, ...ids]),
          client.sendCommand(['HDEL', positionKey, ...ids]),
        );
      }
      // Commands issued in one tick share a socket write: node-redis pipelines them.
      await deadlines.bound(Promise.all(pending), 'redis apply');
    },

    async search(query: GeoSearch): Promise<GeoSearchResult> {
      const reply = await interactive.bound(
        client.searchFresh(keys, String(query.lng), String(query.lat), String(query.radiusKm), String(query.count), String(query.freshSinceMs)),
        'redis search',
      );
      const hits = [];
      for (let i = 2; i + 1 < reply.length; i += 2) {
        const position = String(reply[i + 1]);
        const comma = position.indexOf(',');
        hits.push({ id: Number(reply[i]), lat: Number(position.slice(0, comma)), lng: Number(position.slice(comma + 1)) });
      }
      return { hits, truncated: Number(reply[0]) >= query.count, farthestKm: Number(reply[1]) };
    },

    async removeStale(cutoffMs: number) {
      const removed: number[] = [];
      for (;;) {
        const batch = await interactive.bound(client.removeStale(keys, String(cutoffMs)), 'redis remove stale');
        for (const id of batch) removed.push(Number(id));
        if (batch.length < 10_000) return removed;
      }
    },

    async memberIds() {
      const members = (await bulk.bound(client.sendCommand(['ZRANGE', geoKey, '0', '-1']), 'redis member ids')) as string[];
      return members.map(Number);
    },

    async entries() {
      // One MULTI, so the three structures are read at the same instant.
      const [geoMembers, positions, seen] = (await bulk.bound(
        client.multi().zRange(geoKey, 0, -1).hGetAll(positionKey).zRangeWithScores(seenKey, 0, -1).exec(),
        'redis entries',
      )) as unknown as [string[], Record<string, string>, Array<{ value: string; score: number }>];
      const searchable = new Set(geoMembers);
      const seenAtMs = new Map(seen.map((member) => [member.value, member.score]));
      const ids = new Set([...geoMembers, ...Object.keys(positions), ...seenAtMs.keys()]);
      const found: GeoEntry[] = [];
      for (const id of ids) {
        const position = positions[id];
        const comma = position?.indexOf(',') ?? -1;
        // A member missing from any of the three structures is broken: NaN makes it differ from every real position.
        const whole = searchable.has(id) && position !== undefined && seenAtMs.has(id);
        found.push({
          id: Number(id),
          lat: whole ? Number(position.slice(0, comma)) : Number.NaN,
          lng: whole ? Number(position.slice(comma + 1)) : Number.NaN,
          seenAtMs: seenAtMs.get(id) ?? 0,
        });
      }
      return found;
    },

    async ping() {
      await interactive.bound(client.ping(), 'redis ping');
    },

    async close() {
      // close() waits for replies a disconnected client will never get.
      if (client.isReady) await client.close();
      else if (client.isOpen) client.destroy();
    },
  };
}
