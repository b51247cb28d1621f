import { DeadlineQueue } from '../deadline.ts';
import { ConcurrencyGate } from './concurrency-gate.ts';
import { createLogger, type Logger } from '../logger.ts';
import { Signal } from '../signal.ts';
import { GeoHealth } from './geo-health.ts';
import { CELL_WRITE_CHUNK, type CellKeys } from './cell-scripts.ts';
import { cellOf, cellsCovering, isCell } from './cells.ts';
import { createRedisBackend, type RedisBackend } from './redis-backend.ts';
import { GeoCellsUnavailable, type GeoChanges, type GeoEntry, type GeoHit, type GeoIndex, type GeoSearch, type GeoSearchResult } from './types.ts';

/** Redis's geohash covers latitudes up to this (Web Mercator's limit). */
const REDIS_MAX_ABS_LATITUDE = 85.05112878;

/** How long the stale sweep trusts its list of cells before scanning for cells other hubs filled. */
const RESCAN_CELLS_MS = 30_000;

export interface RedisIndexOptions {
  /** A single Redis (the default deployment). */
  url?: string;
  /** Seed nodes of a Redis Cluster (`host:port`): the same index, spread over the cluster's masters by cell. */
  clusterNodes?: string[];
  keyPrefix: string;
  commandTimeoutMs: number;
  /** Cluster only: how often a master whose cells are out of service is probed. */
  probeIntervalMs?: number;
  logger?: Logger;
}

export interface RedisGeoIndex extends GeoIndex {
  /** Cluster masters whose cells are out of service or being repaired. */
  outages(): string[];
}

/** The keys of one cell: they share the hash tag `{cell}`, so on a cluster they live on one master. */
export function cellKeysFor(keyPrefix: string, cell: string): CellKeys {
  const base = `${keyPrefix}geo:{${cell}}`;
  return [`${base}:drivers`, `${base}:seen`, `${base}:pos`];
}

/** The pattern matching every cell's last-seen key under a prefix. */
export function cellSeenPattern(keyPrefix: string): string {
  return `${keyPrefix}geo:{*}:seen`;
}

interface CellWrite {
  /** Flat (id, atMs) per removal; '' as the time for an unconditional one. */
  removals: string[];
  /** Flat (id, lng, lat, seenMs) per upsert. */
  upserts: string[];
  /** Ids upserted here: a removal of one of them in the same cell is left out, the upsert replaces the member. */
  upserted: Set<string>;
}

const known = (value: number | undefined): value is number => value !== undefined && !Number.isNaN(value);

/**
 * The geo index on Redis, split by cell (see cells.ts): one GEO set, one
 * last-seen ZSET and one exact-position HASH per geohash-5 cell, their keys
 * sharing the hash tag `{cell}`. A search queries only the cells its circle
 * reaches, all at once, and merges them into one nearest-first list; a write
 * sends one script per touched cell in the same pipeline, moving a driver
 * that crossed a cell boundary out of its old cell as it enters the new one.
 *
 * On a Redis Cluster each master is a failure zone: a master that fails
 * takes only its own cells out of service. Searches that need them throw
 * GeoCellsUnavailable (the nearby service answers those from SQL), writes to
 * them are skipped, and once the master answers again the attached repair
 * rebuilds what it lost before its cells serve searches again. Everything
 * else keeps working meanwhile. A single Redis fails as a whole, as before:
 * its errors reach the caller and the hub's GeoHealth handles them.
 */
/**
 * Searches sent to Redis at once. Well above what a steady load keeps in
 * flight (a search takes Redis a fraction of a millisecond), well below what
 * would keep the last of a burst waiting out its deadline inside Redis.
 */
const SEARCHES_IN_FLIGHT = 64;

export function createRedisIndex(options: RedisIndexOptions): RedisGeoIndex {
  const backend: RedisBackend = createRedisBackend({
    url: options.url,
    clusterNodes: options.clusterNodes,
    connectTimeoutMs: Math.max(1000, options.commandTimeoutMs),
  });
  const { scripts } = backend;
  const prefix = `${options.keyPrefix}geo:{`;
  const keysCache = new Map<string, CellKeys>();
  const keysOf = (cell: string): CellKeys => {
    let keys = keysCache.get(cell);
    if (!keys) {
      keys = cellKeysFor(options.keyPrefix, cell);
      keysCache.set(cell, keys);
    }
    return keys;
  };
  // Every call is bounded by the hub's DeadlineQueue (a reply that has arrived
  // is never timed out because the event loop was busy). A repair writes the
  // whole fleet: its tail legitimately waits longer than one interactive call may.
  const interactive = new DeadlineQueue(options.commandTimeoutMs);
  const bulk = new DeadlineQueue(Math.max(30_000, options.commandTimeoutMs));

  // A burst of searches (a thousand riders subscribing at once) queues here, not
  // inside Redis, where the last would wait out the deadline behind the others.
  const searches = new ConcurrencyGate(SEARCHES_IN_FLIGHT);
  let repair: (() => Promise<void>) | undefined;
  const zones = new Map<string, GeoHealth>();
  const zoneHealth = (zone: string): GeoHealth => {
    let health = zones.get(zone);
    if (!health) {
      health = new GeoHealth({
        probeIntervalMs: options.probeIntervalMs ?? 250,
        probe: () => interactive.bound(backend.pingZone(zone), `redis ping ${zone}`),
        repair: () => (repair ? repair() : Promise.resolve()),
        logger: (options.logger ?? createLogger('silent')).child({ redisMaster: zone }),
      });
      zones.set(zone, health);
    }
    return health;
  };
  /** A cell's zone state; 'up' on a single Redis, whose outages the caller handles. */
  const stateOf = (cell: string) => {
    const zone = backend.zoneOf(keysOf(cell)[0]);
    return zone === undefined ? 'up' : (zones.get(zone)?.state ?? 'up');
  };
  const zoneDown = (zone: string) => zones.get(zone)?.state === 'down';
  /** Reports a failed call: to its zone on a cluster (true), or not at all on a single Redis (false: the caller must). */
  const reportZoneFailure = (cell: string, error: Error, operation: string): boolean => {
    const zone = backend.zoneOf(keysOf(cell)[0]);
    if (zone === undefined) return false;
    zoneHealth(zone).reportFailure(error, operation);
    return true;
  };

  // A single Redis's dropped connection goes to the hub's health (it may have restarted empty);
  // a cluster master's to its own zone.
  const connectionErrors = new Signal<[Error]>();
  backend.onConnectionError((error, zone) => {
    if (zone === undefined) connectionErrors.emit(error);
    else zoneHealth(zone).reportFailure(error, 'connection');
  });

  // Cells known to hold members: every cell this process wrote, plus every
  // cell the last scan found (other processes' writes). A scan walks the
  // whole key space, so the frequent stale sweep reuses a recent one.
  const knownCells = new Set<string>();
  let scannedAt = Number.NEGATIVE_INFINITY;

  /** Cells present anywhere the index can reach now, from their last-seen keys. */
  async function cellsHeld(): Promise<string[]> {
    const keys = await bulk.bound(
      backend.scan(cellSeenPattern(options.keyPrefix), zoneDown, (zone, error) => zoneHealth(zone).reportFailure(error, 'scan')),
      'redis scan cells',
    );
    const cells: string[] = [];
    for (const key of keys) {
      const cell = key.slice(prefix.length, key.length - '}:seen'.length);
      if (isCell(cell)) cells.push(cell);
    }
    for (const cell of cells) knownCells.add(cell);
    scannedAt = Date.now();
    return cells;
  }

  async function cellsToSweep(): Promise<string[]> {
    if (Date.now() - scannedAt >= RESCAN_CELLS_MS) {
      knownCells.clear();
      await cellsHeld();
    }
    return [...knownCells];
  }

  const searchNow = async (query: GeoSearch): Promise<GeoSearchResult> => {
    const cells = cellsCovering(query.lat, query.lng, query.radiusKm);
    const outOfService = cells.filter((cell) => stateOf(cell) !== 'up').length;
    if (outOfService > 0) throw new GeoCellsUnavailable(outOfService);
    const [lng, lat, radiusKm, count, cutoff] = [String(query.lng), String(query.lat), String(query.radiusKm), String(query.count), String(query.freshSinceMs)];
    // A single Redis searches every cell in one script call, the query's own cell first (its COUNT
    // nearest bound how far the others are searched); a cluster one call per cell, each on its master.
    const calls = backend.clustered ? cells.map((cell) => [cell]) : [homeCellFirst(cells, query.lat, query.lng)];
    const replies = await Promise.allSettled(
      calls.map((group) => interactive.bound(scripts.searchCells(group.flatMap(keysOf), lng, lat, radiusKm, count, cutoff), 'redis search')),
    );
    let failed = 0;
    for (const [i, reply] of replies.entries()) {
      if (reply.status === 'fulfilled') continue;
      if (!reportZoneFailure(calls[i]![0]!, reply.reason as Error, 'search')) throw reply.reason;
      failed++;
    }
    if (failed > 0) throw new GeoCellsUnavailable(failed, replies.find((reply) => reply.status === 'rejected')?.reason);
    return mergeCellReplies(
      replies.map((reply) => (reply as PromiseFulfilledResult<Array<string | number>>).value),
      query.count,
      cells.length,
    );
  };

  function planWrites(changes: GeoChanges): Map<string, CellWrite> {
    const writes = new Map<string, CellWrite>();
    const writeFor = (cell: string) => {
      let write = writes.get(cell);
      if (!write) {
        write = { removals: [], upserts: [], upserted: new Set() };
        writes.set(cell, write);
      }
      return write;
    };
    for (let i = 0; i < changes.ids.length; i++) {
      const id = String(changes.ids[i]);
      const lat = changes.lats[i]!;
      const lng = changes.lngs[i]!;
      const previousLat = changes.previousLats?.[i];
      const previousLng = changes.previousLngs?.[i];
      const previousCell = known(previousLat) && known(previousLng) ? cellOf(previousLat, previousLng) : undefined;
      // GEOADD would fail the whole script for one polar position: such a driver is left out of the index.
      const cell = Math.abs(lat) > REDIS_MAX_ABS_LATITUDE ? undefined : cellOf(lat, lng);
      const seenAtMs = String(changes.seenAtMs[i]);
      // Moved out as of its new position's time: the old cell keeps that time as a tombstone.
      if (previousCell !== undefined && previousCell !== cell) writeFor(previousCell).removals.push(id, seenAtMs);
      if (cell !== undefined) {
        const write = writeFor(cell);
        write.upserts.push(id, String(lng), String(lat), seenAtMs);
        write.upserted.add(id);
      }
    }
    for (let i = 0; i < changes.removeIds.length; i++) {
      const lat = changes.removeLats?.[i];
      const lng = changes.removeLngs?.[i];
      const atMs = changes.removeSeenAtMs?.[i];
      // A driver with no known position was never indexed anywhere this write could name.
      if (known(lat) && known(lng)) writeFor(cellOf(lat, lng)).removals.push(String(changes.removeIds[i]), atMs === undefined ? '' : String(atMs));
    }
    for (const write of writes.values()) {
      if (write.removals.length === 0 || write.upserted.size === 0) continue;
      const kept: string[] = [];
      for (let i = 0; i < write.removals.length; i += 2) {
        if (!write.upserted.has(write.removals[i]!)) kept.push(write.removals[i]!, write.removals[i + 1]!);
      }
      write.removals = kept;
    }
    return writes;
  }

  /** The script calls of one cell's write, removals first, each within the chunk bound. */
  function cellCalls(keys: CellKeys, write: CellWrite, completeEqual: boolean): Array<Promise<number>> {
    const calls: Array<Promise<number>> = [];
    const mode = completeEqual ? '1' : '0';
    for (let start = 0; start < write.removals.length; start += CELL_WRITE_CHUNK * 2) {
      const removals = write.removals.slice(start, start + CELL_WRITE_CHUNK * 2);
      calls.push(scripts.writeCell(keys, [String(removals.length / 2), mode, ...removals]));
    }
    for (let start = 0; start < write.upserts.length; start += CELL_WRITE_CHUNK * 4) {
      calls.push(scripts.writeCell(keys, ['0', mode, ...write.upserts.slice(start, start + CELL_WRITE_CHUNK * 4)]));
    }
    return calls;
  }

  return {
    source: 'redis',
    maxAbsLatitude: REDIS_MAX_ABS_LATITUDE,
    async connect() {
      await backend.connect();
    },
    onConnectionError: (listener) => connectionErrors.subscribe(listener),
    attachRepair(fn) {
      repair = fn;
    },
    outages() {
      return [...zones].filter(([, health]) => health.state !== 'up').map(([zone]) => zone);
    },

    async apply(changes: GeoChanges) {
      const writes = planWrites(changes);
      const deadlines = changes.ids.length + changes.removeIds.length > CELL_WRITE_CHUNK ? bulk : interactive;
      const pending: Array<Promise<number>> = [];
      for (const [cell, write] of writes) {
        // A master that is down loses this write anyway; its repair rewrites the cell from PostgreSQL.
        if (stateOf(cell) === 'down') continue;
        if (write.upserts.length > 0) knownCells.add(cell);
        for (const call of cellCalls(keysOf(cell), write, changes.completeEqual === true)) {
          // Issued in one tick, calls to one server share its socket write: node-redis pipelines them.
          pending.push(
            deadlines.bound(call, 'redis apply').catch((error: Error) => {
              if (!reportZoneFailure(cell, error, 'apply')) throw error;
              return 0;
            }),
          );
        }
      }
      let applied = 0;
      for (const count of await Promise.all(pending)) applied += count;
      return applied;
    },

    search(query: GeoSearch): Promise<GeoSearchResult> {
      return searches.run(() => searchNow(query));
    },

    async removeStale(cutoffMs: number) {
      const removed: number[] = [];
      const cells = await cellsToSweep();
      await Promise.all(
        cells.map(async (cell) => {
          try {
            for (;;) {
              const [taken, ...members] = await interactive.bound(scripts.removeStaleInCell(keysOf(cell), String(cutoffMs)), 'redis remove stale');
              for (const id of members) removed.push(Number(id));
              if (taken < 10_000) return;
            }
          } catch (error) {
            if (!reportZoneFailure(cell, error as Error, 'remove_stale')) throw error;
          }
        }),
      );
      return removed;
    },

    async memberIds() {
      return [...new Set((await this.entries()).map((entry) => entry.id))];
    },

    async entries() {
      const cells = await cellsHeld();
      const found: GeoEntry[] = [];
      await Promise.all(
        cells.map(async (cell) => {
          let reply: [string[], string[], string[]];
          try {
            reply = await bulk.bound(scripts.readCell(keysOf(cell)), 'redis entries');
          } catch (error) {
            // A single Redis fails the read (the repair must not take a cell it could not read as empty);
            // on a cluster the master's zone goes down, and writes to it wait for its own repair.
            if (!reportZoneFailure(cell, error as Error, 'entries')) throw error;
            return;
          }
          found.push(...cellEntries(reply));
        }),
      );
      return found;
    },

    async ping() {
      await interactive.bound(backend.ping(), 'redis ping');
    },

    async close() {
      for (const health of zones.values()) health.stop();
      await backend.close();
    },
  };
}

/**
 * One cell's three structures as entries. A member missing from any of them
 * is broken, and the repair rewrites it; its stored position, when there is
 * one, tells which cell it is in. A last-seen time alone is a tombstone.
 */
function cellEntries([geoMembers, positionPairs, seenPairs]: [string[], string[], string[]]): GeoEntry[] {
  const searchable = new Set(geoMembers);
  const positions = new Map<string, string>();
  for (let i = 0; i + 1 < positionPairs.length; i += 2) positions.set(positionPairs[i]!, positionPairs[i + 1]!);
  const seenAtMs = new Map<string, number>();
  for (let i = 0; i + 1 < seenPairs.length; i += 2) seenAtMs.set(seenPairs[i]!, Number(seenPairs[i + 1]));
  const ids = new Set([...geoMembers, ...positions.keys(), ...seenAtMs.keys()]);
  const entries: GeoEntry[] = [];
  for (const id of ids) {
    const position = positions.get(id);
    // Only a last-seen time: a tombstone a timed removal left (see writeCell), not a member.
    if (position === undefined && !searchable.has(id)) continue;
    const comma = position?.indexOf(',') ?? -1;
    const whole = searchable.has(id) && position !== undefined && seenAtMs.has(id);
    entries.push({
      id: Number(id),
      lat: position === undefined ? Number.NaN : Number(position.slice(0, comma)),
      lng: position === undefined ? Number.NaN : Number(position.slice(comma + 1)),
      seenAtMs: seenAtMs.get(id) ?? 0,
      ...(!whole && { broken: true }),
    });
  }
  return entries;
}

/** The cells with the one holding the point first, when it is among them. */
function homeCellFirst(cells: string[], lat: number, lng: number): string[] {
  const home = cells.indexOf(cellOf(lat, lng));
  return home <= 0 ? cells : [cells[home]!, ...cells.slice(0, home), ...cells.slice(home + 1)];
}

interface CellHit {
  hit: GeoHit;
  seenAtMs: number;
  distanceKm: number;
}

/** One hit of a cell's reply: "id,lat,lng,seenMs,distKm". */
function parseCellHit(text: string): CellHit {
  const afterId = text.indexOf(',');
  const afterLat = text.indexOf(',', afterId + 1);
  const afterLng = text.indexOf(',', afterLat + 1);
  const afterSeen = text.indexOf(',', afterLng + 1);
  return {
    hit: { id: Number(text.slice(0, afterId)), lat: Number(text.slice(afterId + 1, afterLat)), lng: Number(text.slice(afterLat + 1, afterLng)) },
    seenAtMs: Number(text.slice(afterLng + 1, afterSeen)),
    distanceKm: Number(text.slice(afterSeen + 1)),
  };
}

const byIndexDistance = (a: CellHit, b: CellHit) => a.distanceKm - b.distanceKm;

/**
 * Merges searchCells replies (one per call: a cluster makes one per cell)
 * into one answer: each driver once (the copy seen last, should a move have
 * left it briefly in two cells), nearest first. When any reply was cut at
 * `count`, members beyond its cut were not seen, so the merged cut is the
 * nearest such cut. A single reply is already nearest first.
 */
function mergeCellReplies(replies: Array<Array<string | number>>, count: number, cellsSearched: number): GeoSearchResult {
  let truncated = false;
  let cutKm = Number.POSITIVE_INFINITY;
  let farthestKm = 0;
  let candidates: CellHit[] = [];
  for (const reply of replies) {
    const examined = Number(reply[0]);
    const farthest = Number(reply[1]);
    farthestKm = Math.max(farthestKm, farthest);
    if (examined >= count) {
      truncated = true;
      cutKm = Math.min(cutKm, farthest);
    }
    for (let i = 3; i < reply.length; i++) candidates.push(parseCellHit(String(reply[i])));
  }
  if (cellsSearched > 1) {
    const freshest = new Map<number, CellHit>();
    for (const candidate of candidates) {
      const held = freshest.get(candidate.hit.id);
      if (!held || held.seenAtMs < candidate.seenAtMs) freshest.set(candidate.hit.id, candidate);
    }
    if (freshest.size < candidates.length) candidates = candidates.filter((candidate) => freshest.get(candidate.hit.id) === candidate);
  }
  if (replies.length > 1) candidates.sort(byIndexDistance);
  const hits = candidates.map((candidate) => candidate.hit);
  return { hits, truncated, farthestKm: truncated ? cutKm : farthestKm };
}
