import { EARTH_RADIUS_KM, haversineKm } from '../domain/geo.ts';
import type { GeoChanges, GeoHit, GeoIndex, GeoSearch, GeoSearchResult } from './types.ts';

// A power-of-two fraction of a degree (~0.87 km of latitude) keeps `deg * CELLS_PER_DEG`
// exact, so a longitude and its copy 360° away land in cells exactly LNG_CELLS apart
// and wrapping across the antimeridian needs no special case.
const CELLS_PER_DEG = 128;
const LAT_CELLS = 180 * CELLS_PER_DEG;
const LNG_CELLS = 360 * CELLS_PER_DEG;
const DEG = 180 / Math.PI;
/** Widens search boxes past floating-point noise in cell boundaries (about 0.1 mm). */
const BOX_EPSILON_DEG = 1e-9;

interface Member {
  id: number;
  lat: number;
  lng: number;
  seenAtMs: number;
  cellKey: number;
  /** Position inside its cell's array, for O(1) swap-removal. */
  slot: number;
  /** Scratch: distance to the current search origin. */
  distKm: number;
}

function latCell(lat: number): number {
  return Math.min(LAT_CELLS - 1, Math.max(0, Math.floor((lat + 90) * CELLS_PER_DEG)));
}

/** Unwrapped longitude cell: may fall outside [0, LNG_CELLS) for box edges past ±180°. */
function lngCellUnwrapped(lng: number): number {
  return Math.floor((lng + 180) * CELLS_PER_DEG);
}

function wrapLngCell(cell: number): number {
  return ((cell % LNG_CELLS) + LNG_CELLS) % LNG_CELLS;
}

function cellKeyOf(lat: number, lng: number): number {
  return latCell(lat) * LNG_CELLS + wrapLngCell(lngCellUnwrapped(lng));
}

const byDistance = (a: Member, b: Member) => a.distKm - b.distKm || a.id - b.id;
const isCloser = (a: Member, b: Member) => a.distKm < b.distKm || (a.distKm === b.distKm && a.id < b.id);

/**
 * The embedded-mode geo index: a grid of ~1 km cells in process memory.
 * It mirrors the Redis index's observable behaviour (GEOSEARCH BYRADIUS ASC
 * COUNT, then the last-seen filter), so the nearby service cannot tell them
 * apart except by `source`. Single-process only: nothing is shared between hubs.
 */
export function createMemoryIndex(): GeoIndex {
  const members = new Map<number, Member>();
  const cells = new Map<number, Member[]>();
  /** When each driver removed by a timed removal left: older upserts are refused (see GeoChanges). Swept with stale members. */
  const removedAtMs = new Map<number, number>();
  // The `count` nearest members seen so far, as a max-heap with the farthest on
  // top: sorting everything inside a large radius would cost far more than the
  // haversines. Reused by every search so a query allocates only its hits.
  const nearest: Member[] = [];
  let wanted = 0;

  function siftUp(index: number): void {
    const member = nearest[index] as Member;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = nearest[parent] as Member;
      if (!isCloser(above, member)) break;
      nearest[index] = above;
      index = parent;
    }
    nearest[index] = member;
  }

  function siftDown(index: number): void {
    const member = nearest[index] as Member;
    const size = nearest.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= size) break;
      const right = child + 1;
      if (right < size && isCloser(nearest[child] as Member, nearest[right] as Member)) child = right;
      const below = nearest[child] as Member;
      if (!isCloser(member, below)) break;
      nearest[index] = below;
      index = child;
    }
    nearest[index] = member;
  }

  function detach(member: Member): void {
    const cell = cells.get(member.cellKey) as Member[];
    const last = cell.pop() as Member;
    if (last !== member) {
      cell[member.slot] = last;
      last.slot = member.slot;
    }
    if (cell.length === 0) cells.delete(member.cellKey);
  }

  function attach(member: Member): void {
    let cell = cells.get(member.cellKey);
    if (!cell) {
      cell = [];
      cells.set(member.cellKey, cell);
    }
    member.slot = cell.length;
    cell.push(member);
  }

  function upsert(id: number, lat: number, lng: number, seenAtMs: number): boolean {
    const key = cellKeyOf(lat, lng);
    const member = members.get(id);
    if ((member && member.seenAtMs > seenAtMs) || (removedAtMs.get(id) ?? -Infinity) > seenAtMs) return false;
    // The same position at the same time changes nothing: not counted as written, as Redis does not count it.
    if (member && member.seenAtMs === seenAtMs && member.lat === lat && member.lng === lng) return false;
    removedAtMs.delete(id);
    if (!member) {
      const created: Member = { id, lat, lng, seenAtMs, cellKey: key, slot: 0, distKm: 0 };
      members.set(id, created);
      attach(created);
      return true;
    }
    member.lat = lat;
    member.lng = lng;
    member.seenAtMs = seenAtMs;
    if (member.cellKey !== key) {
      detach(member);
      member.cellKey = key;
      attach(member);
    }
    return true;
  }

  function remove(id: number): boolean {
    const member = members.get(id);
    if (!member) return false;
    detach(member);
    members.delete(id);
    return true;
  }

  /** A removal as of `atMs`: a member seen after it stays; the time is kept so later, older upserts are refused. */
  function removeAsOf(id: number, atMs: number): boolean {
    const member = members.get(id);
    if (member && member.seenAtMs > atMs) return false;
    removedAtMs.set(id, Math.max(atMs, removedAtMs.get(id) ?? -Infinity));
    return remove(id);
  }

  function collect(cell: Member[], query: GeoSearch): void {
    for (let i = 0; i < cell.length; i++) {
      const member = cell[i] as Member;
      const km = haversineKm(query.lat, query.lng, member.lat, member.lng);
      if (km > query.radiusKm) continue;
      member.distKm = km;
      if (nearest.length < wanted) {
        nearest.push(member);
        siftUp(nearest.length - 1);
      } else if (isCloser(member, nearest[0] as Member)) {
        nearest[0] = member;
        siftDown(0);
      }
    }
  }

  /** Fills `nearest` from the members within the radius, visiting only cells the circle can touch. */
  function gather(query: GeoSearch): void {
    const angular = query.radiusKm / EARTH_RADIUS_KM;
    const latSpan = angular * DEG + BOX_EPSILON_DEG;
    const minLat = query.lat - latSpan;
    const maxLat = query.lat + latSpan;
    const latFrom = latCell(minLat);
    const latTo = latCell(maxLat);

    // The widest longitude offset of a spherical cap; a cap holding a pole spans them all.
    // The latitude test also catches a cap that reaches a pole only to within
    // rounding, where sinRatio can land a hair under 1.
    const sinRatio = Math.sin(angular) / Math.cos(query.lat / DEG);
    const allLngs = angular >= Math.PI / 2 || minLat <= -90 || maxLat >= 90 || sinRatio >= 1;
    let lngFrom = 0;
    let lngCount = LNG_CELLS;
    if (!allLngs) {
      const lngSpan = Math.asin(sinRatio) * DEG + BOX_EPSILON_DEG;
      lngFrom = lngCellUnwrapped(query.lng - lngSpan);
      lngCount = Math.min(LNG_CELLS, lngCellUnwrapped(query.lng + lngSpan) - lngFrom + 1);
      lngFrom = wrapLngCell(lngFrom);
    }

    // Walk whichever is smaller: the box's cells or the occupied cells, so a
    // huge radius over a sparse fleet never costs more than a full scan.
    const boxCells = (latTo - latFrom + 1) * lngCount;
    if (boxCells <= cells.size) {
      for (let latIdx = latFrom; latIdx <= latTo; latIdx++) {
        const row = latIdx * LNG_CELLS;
        for (let k = 0; k < lngCount; k++) {
          const cell = cells.get(row + ((lngFrom + k) % LNG_CELLS));
          if (cell) collect(cell, query);
        }
      }
      return;
    }
    cells.forEach((cell, key) => {
      const latIdx = Math.floor(key / LNG_CELLS);
      if (latIdx < latFrom || latIdx > latTo) return;
      if (wrapLngCell((key % LNG_CELLS) - lngFrom) >= lngCount) return;
      collect(cell, query);
    });
  }

  return {
    source: 'memory',
    maxAbsLatitude: 90,

    // Nothing of it can fail on its own.
    attachRepair: () => undefined,

    async apply(changes: GeoChanges) {
      // Removals first, as every index applies them: a driver removed and upserted in one write
      // ends up present (the upsert replaces it, so its removal is left out).
      let applied = 0;
      const upserted = changes.removeIds.length > 0 ? new Set(changes.ids) : undefined;
      for (let i = 0; i < changes.removeIds.length; i++) {
        const id = changes.removeIds[i] as number;
        if (upserted?.has(id)) continue;
        const atMs = changes.removeSeenAtMs?.[i];
        if (atMs === undefined ? remove(id) : removeAsOf(id, atMs)) applied++;
      }
      for (let i = 0; i < changes.ids.length; i++) {
        if (upsert(changes.ids[i] as number, changes.lats[i] as number, changes.lngs[i] as number, changes.seenAtMs[i] as number)) applied++;
      }
      return applied;
    },

    async search(query: GeoSearch): Promise<GeoSearchResult> {
      // The same inputs Redis rejects, so a caller bug surfaces in embedded mode too.
      if (!Number.isInteger(query.count) || query.count < 1) {
        throw new RangeError(`count must be a positive integer, got ${query.count}`);
      }
      if (!(query.radiusKm >= 0)) throw new RangeError(`radiusKm must be >= 0, got ${query.radiusKm}`);

      wanted = query.count;
      gather(query);
      nearest.sort(byDistance);
      const examined = nearest.length;
      const hits: GeoHit[] = [];
      for (let i = 0; i < examined; i++) {
        const member = nearest[i] as Member;
        if (member.seenAtMs >= query.freshSinceMs) hits.push({ id: member.id, lat: member.lat, lng: member.lng });
      }
      const farthestKm = examined === 0 ? 0 : (nearest[examined - 1] as Member).distKm;
      // Emptied rather than kept, so removed members are not pinned until the next search.
      nearest.length = 0;
      return { hits, truncated: examined >= query.count, farthestKm };
    },

    // Inclusive of the cutoff, like the Redis index's ZRANGE -inf..cutoff. A
    // full scan: it runs on the reconcile interval, not per request.
    async removeStale(cutoffMs: number) {
      const removed: number[] = [];
      for (const member of members.values()) {
        if (member.seenAtMs <= cutoffMs) removed.push(member.id);
      }
      for (const id of removed) remove(id);
      for (const [id, atMs] of removedAtMs) if (atMs <= cutoffMs) removedAtMs.delete(id);
      return removed;
    },

    async memberIds() {
      return Array.from(members.keys());
    },

    async entries() {
      return Array.from(members.values(), (member) => ({ id: member.id, lat: member.lat, lng: member.lng, seenAtMs: member.seenAtMs }));
    },

    // Nothing to open, reach or lose: the index lives in this process.
    async connect() {},
    onConnectionError: () => () => undefined,
    async ping() {},

    async close() {
      members.clear();
      cells.clear();
      removedAtMs.clear();
    },
  };
}
