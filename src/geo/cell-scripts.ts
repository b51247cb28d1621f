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
//
// KEYS: the three keys of each cell searched. A cluster sends one cell per
// call (a script never crosses slots); a single Redis sends every cell the
// circle reaches in one call, its own cell first: once a cell holds COUNT
// members within some distance, the later cells are searched only that far.
// The cells' nearest-first lists are merged and
// only the nearest COUNT over all of them are looked up and returned: the
// rest could not be in the answer, and looking up and returning them was
// most of what a search cost beyond its GEOSEARCHes. The cut is reported as a
// truncation: members beyond it were not examined.
//
// Reply: [examined, farthestKm, freshHits, then "id,lat,lng,seenMs,distKm" per
// fresh hit, nearest first]. `examined` is COUNT when the answer was cut (a
// cell stopped at COUNT, or the merge did), and `farthestKm` is then the cut;
// otherwise 0 and the farthest member examined. One string per hit rather
// than four, because decoding bulk strings is much of what a search costs the hub.
export const searchCells = defineScript({
  SCRIPT: `
    local count = tonumber(ARGV[4])
    local cutoff = tonumber(ARGV[5])
    local radius = ARGV[3]
    local cells = #KEYS / 3
    local lists, heads, total = {}, {}, 0
    local truncated, cutKm, farthestKm, cutText, farthestText = false, math.huge, 0, '0', '0'
    for c = 1, cells do
      local hits = redis.call('GEOSEARCH', KEYS[3 * c - 2], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', radius, 'km', 'ASC', 'COUNT', ARGV[4], 'WITHDIST')
      lists[c], heads[c] = hits, 1
      total = total + #hits
      if #hits > 0 then
        local farthest = tonumber(hits[#hits][2])
        if farthest > farthestKm then farthestKm, farthestText = farthest, hits[#hits][2] end
        if #hits >= count and farthest < cutKm then
          truncated, cutKm, cutText = true, farthest, hits[#hits][2]
          -- COUNT members lie within this cut already: nothing beyond it can be among the nearest COUNT.
          radius = cutText
        end
      end
    end
    local order, members = {}, {}
    for c = 1, cells do members[c] = {} end
    while #order < count do
      local best, bestKm
      for c = 1, cells do
        local hit = lists[c][heads[c]]
        if hit then
          local km = tonumber(hit[2])
          if not bestKm or km < bestKm then best, bestKm = c, km end
        end
      end
      if not best then break end
      local hit = lists[best][heads[best]]
      heads[best] = heads[best] + 1
      local own = members[best]
      own[#own + 1] = hit[1]
      order[#order + 1] = { best, #own, hit[2] }
      if total > count and #order == count and bestKm < cutKm then truncated, cutKm, cutText = true, bestKm, hit[2] end
    end
    local seen, positions = {}, {}
    for c = 1, cells do
      if #members[c] > 0 then
        seen[c] = redis.call('ZMSCORE', KEYS[3 * c - 1], unpack(members[c]))
        positions[c] = redis.call('HMGET', KEYS[3 * c], unpack(members[c]))
      end
    end
    local out = { 0, farthestText, 0 }
    if truncated then out[1], out[2] = count, cutText end
    for _, entry in ipairs(order) do
      local c, i = entry[1], entry[2]
      local at, position = seen[c][i], positions[c][i]
      if at and tonumber(at) >= cutoff and position then
        out[#out + 1] = members[c][i] .. ',' .. position .. ',' .. at .. ',' .. entry[3]
      end
    end
    out[3] = #out - 3
    return out
  `,
  parseCommand(parser, keys: string[], lng: string, lat: string, radiusKm: string, count: string, cutoffMs: string) {
    parser.push(String(keys.length));
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
// applies only when it is newer than what the cell holds for that driver, or,
// when the write asks for it (the full repair), as new but the member is
// incomplete: checking that costs two lookups per member, which a pass over
// a healthy index would pay for every driver. A timed removal applies only when it
// is at least as new as the member, and leaves its time behind in the
// last-seen ZSET as a tombstone (no GEO member, no position): a write older
// than the removal that arrives later (a driver that has since moved to
// another cell or gone offline) is then refused. Tombstones leave with the
// stale sweep. An untimed removal ('' as its time) is unconditional.
// ARGV: [removalCount, '1' to rewrite incomplete members as new as the upsert
// (else '0'), (id, atMs) per removal, then (id, lng, lat, seenMs) per upsert].
// Reply: how many members were actually removed or written.
export const writeCell = defineScript({
  NUMBER_OF_KEYS: 3,
  SCRIPT: `
    local removals = tonumber(ARGV[1])
    local applied = 0
    if removals > 0 then
      local ids = {}
      for i = 1, removals do ids[i] = ARGV[2 * i + 1] end
      local held = redis.call('ZMSCORE', KEYS[2], unpack(ids))
      local gone, untimed, tombstones = {}, {}, {}
      for i = 1, removals do
        local at = ARGV[2 * i + 2]
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
    local first = 3 + 2 * removals
    local completeEqual = ARGV[2] == '1'
    if first > #ARGV then return applied end
    local ids = {}
    for i = first, #ARGV, 4 do ids[#ids + 1] = ARGV[i] end
    local held = redis.call('ZMSCORE', KEYS[2], unpack(ids))
    local geo, seen, pos = {}, {}, {}
    for k, id in ipairs(ids) do
      local i = first + 4 * (k - 1)
      local at = tonumber(ARGV[i + 3])
      local stored = held[k] and tonumber(held[k])
      local newer = not stored or stored < at
      if not newer and completeEqual and stored == at then
        newer = redis.call('HEXISTS', KEYS[3], id) == 0 or not redis.call('ZSCORE', KEYS[1], id)
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

export const cellScripts = { searchCells, writeCell, removeStaleInCell, readCell };
