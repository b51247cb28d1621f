import { defineScript } from 'redis';

/**
 * The Lua scripts of the cell-sharded index. Each one touches the three
 * keys of one cell only (same hash tag, so one slot and one node on a
 * cluster), which keeps every cell's structures consistent with each other
 * on a single Redis and on a cluster alike.
 *
 * Keys of a cell: [GEO set of members, ZSET of last-seen ms, HASH of exact "lat,lng"].
 */
export type CellKeys = [string, string, string];

/** Members per script call: bounded so that no call blocks Redis for long and `unpack` stays within Lua's stack. */
export const CELL_WRITE_CHUNK = 1000;

// GEOSEARCH, the last-seen lookup and the exact positions in one round trip.
// Staleness is judged by Redis's shared record of frames (right for several
// hubs), and positions come from the exact-coordinates hash because GEOADD
// stores 52-bit geohashes: ranking by those would swap drivers a metre apart.
// Reply: [examined, farthestKm, "id,lat,lng,seenMs,distKm" per fresh hit]: one
// string per hit rather than four, because decoding bulk strings is much of
// what a search costs the hub.
export const searchCell = defineScript({
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
        out[#out + 1] = member .. ',' .. positions[i] .. ',' .. at .. ',' .. hits[i][2]
      end
    end
    return out
  `,
  parseCommand(parser, keys: CellKeys, lng: string, lat: string, radiusKm: string, count: string, cutoffMs: string) {
    parser.pushKeys(keys);
    parser.push(lng, lat, radiusKm, count, cutoffMs);
  },
  transformReply: (reply: unknown) => reply as Array<string | number>,
});

// Removals first, then upserts, in one atomic step: a member is never
// searchable without its last-seen score and exact position, and a driver
// removed and re-added in the same write (a repair) ends up present.
//
// Every write is conditional on freshness, so the index never goes back in
// time whatever order writes arrive in (a reconcile that read PostgreSQL a
// moment before a frame's commit, two hubs, a retried batch). An upsert
// applies only when it is newer than what the cell holds for that driver, or
// as new but the member is incomplete. A timed removal applies only when it
// is at least as new as the member, and leaves its time behind in the
// last-seen ZSET as a tombstone (no GEO member, no position): a write older
// than the removal that arrives later (a driver that has since moved to
// another cell or gone offline) is then refused. Tombstones leave with the
// stale sweep. An untimed removal ('' as its time) is unconditional.
// ARGV: [removalCount, (id, atMs) per removal, then (id, lng, lat, seenMs) per upsert].
// Reply: how many members were actually removed or written.
export const writeCell = defineScript({
  NUMBER_OF_KEYS: 3,
  SCRIPT: `
    local removals = tonumber(ARGV[1])
    local applied = 0
    if removals > 0 then
      local ids = {}
      for i = 1, removals do ids[i] = ARGV[2 * i] end
      local held = redis.call('ZMSCORE', KEYS[2], unpack(ids))
      local gone, untimed, tombstones = {}, {}, {}
      for i = 1, removals do
        local at = ARGV[2 * i + 1]
        if at == '' then
          gone[#gone + 1] = ids[i]
          untimed[#untimed + 1] = ids[i]
        elseif not held[i] or tonumber(held[i]) <= tonumber(at) then
          gone[#gone + 1] = ids[i]
          tombstones[#tombstones + 1] = at
          tombstones[#tombstones + 1] = ids[i]
        end
      end
      if #gone > 0 then
        applied = redis.call('ZREM', KEYS[1], unpack(gone))
        redis.call('HDEL', KEYS[3], unpack(gone))
      end
      if #untimed > 0 then redis.call('ZREM', KEYS[2], unpack(untimed)) end
      if #tombstones > 0 then redis.call('ZADD', KEYS[2], unpack(tombstones)) end
    end
    local first = 2 + 2 * removals
    if first > #ARGV then return applied end
    local ids = {}
    for i = first, #ARGV, 4 do ids[#ids + 1] = ARGV[i] end
    local held = redis.call('ZMSCORE', KEYS[2], unpack(ids))
    local present = redis.call('HMGET', KEYS[3], unpack(ids))
    local geo, seen, pos = {}, {}, {}
    for k, id in ipairs(ids) do
      local i = first + 4 * (k - 1)
      local at = tonumber(ARGV[i + 3])
      local stored = held[k] and tonumber(held[k])
      local newer = not stored or stored < at
      if not newer and stored == at then
        newer = not present[k] or not redis.call('ZSCORE', KEYS[1], id)
      end
      if newer then
        local lng, lat = ARGV[i + 1], ARGV[i + 2]
        geo[#geo + 1] = lng
        geo[#geo + 1] = lat
        geo[#geo + 1] = id
        seen[#seen + 1] = ARGV[i + 3]
        seen[#seen + 1] = id
        pos[#pos + 1] = id
        pos[#pos + 1] = lat .. ',' .. lng
      end
    end
    if #geo == 0 then return applied end
    redis.call('GEOADD', KEYS[1], unpack(geo))
    redis.call('ZADD', KEYS[2], unpack(seen))
    redis.call('HSET', KEYS[3], unpack(pos))
    return applied + #seen / 2
  `,
  parseCommand(parser, keys: CellKeys, args: string[]) {
    parser.pushKeys(keys);
    parser.push(...args);
  },
  transformReply: (reply: unknown) => reply as number,
});

// Stale removal takes members out of every structure together, tombstones
// included. Reply: [how many last-seen entries it took, then the ids of those
// that were members rather than tombstones].
export const removeStaleInCell = defineScript({
  NUMBER_OF_KEYS: 3,
  SCRIPT: `
    local stale = redis.call('ZRANGE', KEYS[2], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, 10000)
    local out = { #stale }
    if #stale == 0 then return out end
    local positions = redis.call('HMGET', KEYS[3], unpack(stale))
    for i, id in ipairs(stale) do
      if positions[i] then out[#out + 1] = id end
    end
    redis.call('ZREM', KEYS[1], unpack(stale))
    redis.call('ZREM', KEYS[2], unpack(stale))
    redis.call('HDEL', KEYS[3], unpack(stale))
    return out
  `,
  parseCommand(parser, keys: CellKeys, cutoffMs: string) {
    parser.pushKeys(keys);
    parser.push(cutoffMs);
  },
  transformReply: (reply: unknown) => reply as [number, ...string[]],
});

// The three structures of a cell read at one instant, for reconciliation.
// Reply: [geoMembers[], positionHash flat [id, "lat,lng", ...], seen flat [id, ms, ...]].
export const readCell = defineScript({
  NUMBER_OF_KEYS: 3,
  SCRIPT: `
    return { redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('HGETALL', KEYS[3]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES') }
  `,
  parseCommand(parser, keys: CellKeys) {
    parser.pushKeys(keys);
  },
  transformReply: (reply: unknown) => reply as [string[], string[], string[]],
});

export const cellScripts = { searchCell, writeCell, removeStaleInCell, readCell };
