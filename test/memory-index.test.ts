import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMemoryIndex } from '../src/geo/memory-index.ts';
import type { GeoChanges, GeoIndex } from '../src/geo/types.ts';
import { EARTH_RADIUS_KM, haversineKm, offsetKm, RAD } from '../src/domain/geo.ts';

const ORIGIN = { lat: 52.52, lng: 13.405 };
const NOW = 1_800_000_000_000;

function northOf(km: number, from = ORIGIN) {
  return offsetKm(from, km, 0);
}

function upserts(points: Array<{ id: number; lat: number; lng: number; seenAtMs?: number }>): GeoChanges {
  return {
    ids: points.map((p) => p.id),
    lats: points.map((p) => p.lat),
    lngs: points.map((p) => p.lng),
    seenAtMs: points.map((p) => p.seenAtMs ?? NOW),
    removeIds: [],
  };
}

const removals = (removeIds: number[]): GeoChanges => ({ ids: [], lats: [], lngs: [], seenAtMs: [], removeIds });

interface Placed {
  id: number;
  lat: number;
  lng: number;
  seenAtMs: number;
}

/** What GEOSEARCH BYRADIUS ASC COUNT plus the last-seen filter must return, by exhaustive scan. */
function bruteForce(points: Placed[], query: { lat: number; lng: number; radiusKm: number; count: number; freshSinceMs: number }) {
  const examined = points
    .map((point) => ({ point, km: haversineKm(query.lat, query.lng, point.lat, point.lng) }))
    .filter((entry) => entry.km <= query.radiusKm)
    .sort((a, b) => a.km - b.km || a.point.id - b.point.id)
    .slice(0, query.count);
  return {
    hits: examined.filter((entry) => entry.point.seenAtMs >= query.freshSinceMs).map(({ point }) => ({ id: point.id, lat: point.lat, lng: point.lng })),
    truncated: examined.length >= query.count,
    farthestKm: examined.at(-1)?.km ?? 0,
  };
}

async function ids(index: GeoIndex, query: { lat: number; lng: number; radiusKm: number; count?: number }) {
  const result = await index.search({ count: 100, freshSinceMs: 0, ...query });
  return result.hits.map((hit) => hit.id);
}

describe('memory geo index', () => {
  it('reports its source and answers an empty search', async () => {
    const index = createMemoryIndex();
    expect(index.source).toBe('memory');
    await index.ping();
    expect(await index.search({ ...ORIGIN, radiusKm: 5, count: 10, freshSinceMs: 0 })).toEqual({
      hits: [],
      truncated: false,
      farthestKm: 0,
    });
  });

  it('returns members within the radius nearest first, with stored coordinates and exact distances', async () => {
    const index = createMemoryIndex();
    const far = { id: 4, ...northOf(6) };
    const points = [{ id: 3, ...northOf(3) }, { id: 1, ...northOf(1) }, far, { id: 2, ...northOf(2) }];
    await index.apply(upserts(points));

    const result = await index.search({ ...ORIGIN, radiusKm: 5, count: 10, freshSinceMs: 0 });
    expect(result.hits).toEqual([1, 2, 3].map((id) => points.find((p) => p.id === id)));
    expect(result.truncated).toBe(false);
    expect(result.farthestKm).toBe(haversineKm(ORIGIN.lat, ORIGIN.lng, northOf(3).lat, northOf(3).lng));
    expect(await ids(index, { ...ORIGIN, radiusKm: 10 })).toEqual([1, 2, 3, 4]);
  });

  it('includes a member exactly on the radius, as GEOSEARCH does', async () => {
    const index = createMemoryIndex();
    const edge = northOf(2);
    await index.apply(upserts([{ id: 1, ...edge }]));
    const exact = haversineKm(ORIGIN.lat, ORIGIN.lng, edge.lat, edge.lng);
    expect(await ids(index, { ...ORIGIN, radiusKm: exact })).toEqual([1]);
    expect(await ids(index, { ...ORIGIN, radiusKm: exact * (1 - 1e-12) })).toEqual([]);
  });

  it('moves a member on upsert, across cells, without duplicating it', async () => {
    const index = createMemoryIndex();
    await index.apply(
      upserts([
        { id: 7, ...northOf(1) },
        { id: 8, ...northOf(1.0001) },
      ]),
    );
    const paris = { lat: 48.8566, lng: 2.3522 };
    await index.apply(upserts([{ id: 7, ...paris }]));

    expect(await ids(index, { ...ORIGIN, radiusKm: 5 })).toEqual([8]);
    expect((await index.search({ ...paris, radiusKm: 1, count: 5, freshSinceMs: 0 })).hits).toEqual([{ id: 7, ...paris }]);
    expect((await index.memberIds()).sort()).toEqual([7, 8]);

    // A move inside one cell keeps the member findable at its new spot only.
    const nudged = { lat: paris.lat + 0.0001, lng: paris.lng };
    await index.apply(upserts([{ id: 7, ...nudged }]));
    expect((await index.search({ ...nudged, radiusKm: 0, count: 5, freshSinceMs: 0 })).hits).toEqual([{ id: 7, ...nudged }]);
  });

  it('counts only what it wrote: the same position at the same time again is no write', async () => {
    const index = createMemoryIndex();
    const change = { ids: [7], lats: [40.75], lngs: [-73.98], seenAtMs: [1_000], removeIds: [] };
    expect(await index.apply(change)).toBe(1);
    expect(await index.apply(change)).toBe(0);
    expect(await index.apply({ ...change, seenAtMs: [1_001] })).toBe(1);
  });

  it('removes members, including ids it never held, and applies removals before upserts', async () => {
    const index = createMemoryIndex();
    await index.apply(upserts([1, 2, 3].map((id) => ({ id, ...northOf(id) }))));
    await index.apply(removals([2, 99]));
    expect(await ids(index, { ...ORIGIN, radiusKm: 10 })).toEqual([1, 3]);

    // Removed and upserted in one write (a repair moving a copy): present, as in every index.
    await index.apply({ ...upserts([{ id: 5, ...northOf(0.5) }]), removeIds: [5] });
    expect((await index.memberIds()).sort()).toEqual([1, 3, 5]);
  });

  it('filters stale members out of hits after COUNT, like the Redis script', async () => {
    const index = createMemoryIndex();
    await index.apply(
      upserts([
        { id: 1, ...northOf(1), seenAtMs: NOW - 60_000 },
        { id: 2, ...northOf(2), seenAtMs: NOW },
        { id: 3, ...northOf(3), seenAtMs: NOW - 1 },
      ]),
    );

    const fresh = await index.search({ ...ORIGIN, radiusKm: 5, count: 10, freshSinceMs: NOW - 1 });
    expect(fresh.hits.map((hit) => hit.id)).toEqual([2, 3]);
    expect(fresh.truncated).toBe(false);

    // The stale nearest member still uses up one of COUNT and sets farthestKm.
    const counted = await index.search({ ...ORIGIN, radiusKm: 5, count: 1, freshSinceMs: NOW - 1 });
    expect(counted.hits).toEqual([]);
    expect(counted.truncated).toBe(true);
    expect(counted.farthestKm).toBe(haversineKm(ORIGIN.lat, ORIGIN.lng, northOf(1).lat, northOf(1).lng));
  });

  it('reports truncation when the examined count reaches COUNT', async () => {
    const index = createMemoryIndex();
    await index.apply(upserts([1, 2, 3].map((id) => ({ id, ...northOf(id) }))));

    const two = await index.search({ ...ORIGIN, radiusKm: 5, count: 2, freshSinceMs: 0 });
    expect(two.hits.map((hit) => hit.id)).toEqual([1, 2]);
    expect(two.truncated).toBe(true);
    expect(two.farthestKm).toBe(haversineKm(ORIGIN.lat, ORIGIN.lng, northOf(2).lat, northOf(2).lng));

    expect((await index.search({ ...ORIGIN, radiusKm: 5, count: 3, freshSinceMs: 0 })).truncated).toBe(true);
    expect((await index.search({ ...ORIGIN, radiusKm: 5, count: 4, freshSinceMs: 0 })).truncated).toBe(false);
  });

  it('rejects the COUNT and radius values GEOSEARCH rejects', async () => {
    const index = createMemoryIndex();
    await expect(index.search({ ...ORIGIN, radiusKm: 5, count: 0, freshSinceMs: 0 })).rejects.toThrow(RangeError);
    await expect(index.search({ ...ORIGIN, radiusKm: 5, count: 1.5, freshSinceMs: 0 })).rejects.toThrow(RangeError);
    await expect(index.search({ ...ORIGIN, radiusKm: -1, count: 1, freshSinceMs: 0 })).rejects.toThrow(RangeError);
  });

  it('removeStale drops members seen at or before the cutoff and returns their ids', async () => {
    const index = createMemoryIndex();
    await index.apply(
      upserts([
        { id: 1, ...northOf(1), seenAtMs: NOW - 10 },
        { id: 2, ...northOf(2), seenAtMs: NOW },
        { id: 3, ...northOf(3), seenAtMs: NOW + 10 },
      ]),
    );

    expect((await index.removeStale(NOW)).sort()).toEqual([1, 2]);
    expect(await index.memberIds()).toEqual([3]);
    expect(await ids(index, { ...ORIGIN, radiusKm: 10 })).toEqual([3]);
    expect(await index.removeStale(NOW)).toEqual([]);
  });

  it('finds members across the antimeridian and around a pole', async () => {
    const index = createMemoryIndex();
    await index.apply(
      upserts([
        { id: 1, lat: 0, lng: -179.995 },
        { id: 2, lat: 0, lng: 180 },
        { id: 3, lat: 89.995, lng: -120 },
        { id: 4, lat: 89.995, lng: 60 },
        { id: 5, lat: 90, lng: 0 },
      ]),
    );

    expect(await ids(index, { lat: 0, lng: 179.995, radiusKm: 2 })).toEqual([2, 1]);
    expect((await ids(index, { lat: 89.999, lng: 0, radiusKm: 2 })).sort()).toEqual([3, 4, 5]);
  });

  it('close empties the index', async () => {
    const index = createMemoryIndex();
    await index.apply(upserts([{ id: 1, ...northOf(1) }]));
    await index.close();
    expect(await index.memberIds()).toEqual([]);
  });

  it('finds members at the northern, southern, eastern and western extremes of the circle', async () => {
    // A dense worldwide filler makes small radii walk the grid and large ones scan occupied cells.
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const filler: Placed[] = Array.from({ length: 30_000 }, (_, i) => ({
      id: 1000 + i,
      lat: random() * 180 - 90,
      lng: random() * 360 - 180,
      seenAtMs: NOW,
    }));
    for (const lat0 of [0, 52.52, -60, 70.5, 85]) {
      for (const radiusKm of [1, 10, 40, 500]) {
        const lng0 = 179.9;
        const angular = radiusKm / EARTH_RADIUS_KM;
        // Where the circle reaches its widest longitude: not due east, but poleward of it.
        const widestLat = Math.asin(Math.sin(lat0 * RAD) / Math.cos(angular)) / RAD;
        const widestLng = Math.asin(Math.sin(angular) / Math.cos(lat0 * RAD)) / RAD;
        const wrap = (lng: number) => ((((lng + 180) % 360) + 360) % 360) - 180;
        const extremes: Placed[] = [
          { id: 1, lat: Math.min(90, lat0 + angular / RAD), lng: lng0, seenAtMs: NOW },
          { id: 2, lat: lat0 - angular / RAD, lng: lng0, seenAtMs: NOW },
          { id: 3, lat: widestLat, lng: wrap(lng0 + widestLng), seenAtMs: NOW },
          { id: 4, lat: widestLat, lng: wrap(lng0 - widestLng), seenAtMs: NOW },
        ];
        const all = [...filler, ...extremes];
        const index = createMemoryIndex();
        await index.apply(upserts(all));
        for (const extreme of extremes) {
          const search = {
            lat: lat0,
            lng: lng0,
            radiusKm: haversineKm(lat0, lng0, extreme.lat, extreme.lng),
            count: 100_000,
            freshSinceMs: 0,
          };
          const result = await index.search(search);
          expect(result.hits.map((hit) => hit.id)).toContain(extreme.id);
          expect(result).toEqual(bruteForce(all, search));
        }
      }
    }
  });

  it('finds a member on the pole when the circle just reaches it', async () => {
    const index = createMemoryIndex();
    await index.apply(upserts([{ id: 1, lat: 90, lng: 170 }]));
    const radiusKm = haversineKm(89, 0, 90, 170);
    expect(await ids(index, { lat: 89, lng: 0, radiusKm })).toEqual([1]);
  });

  it('agrees with a brute-force haversine scan for any fleet and query', async () => {
    // Tight clusters put many drivers in few cells, so both the cell walk and the
    // occupied-cell scan run; they sit at mid and high latitudes, across the
    // antimeridian and by a pole, where the longitude span of a cap is subtle.
    const centres = [ORIGIN, { lat: 70.5, lng: 179.97 }, { lat: -33.9, lng: 18.4 }, { lat: 89.9, lng: 0 }];
    const wrapLng = (lng: number) => (lng > 180 ? lng - 360 : lng);
    const clustered = fc
      .record({
        centre: fc.constantFrom(...centres),
        dLat: fc.double({ min: -0.05, max: 0.05, noNaN: true }),
        dLng: fc.double({ min: -0.15, max: 0.15, noNaN: true }),
      })
      .map(({ centre, dLat, dLng }) => ({ lat: Math.min(90, centre.lat + dLat), lng: wrapLng(centre.lng + dLng) }));
    const anywhere = fc.record({
      lat: fc.double({ min: -90, max: 90, noNaN: true }),
      lng: fc.double({ min: -180, max: 180, noNaN: true }),
    });
    const point = fc.oneof({ arbitrary: clustered, weight: 4 }, { arbitrary: anywhere, weight: 1 });
    const fleet = fc.array(fc.record({ at: point, seenAtMs: fc.integer({ min: 0, max: 100 }) }), {
      minLength: 1,
      maxLength: 400,
    });
    const query = fc.record({
      at: point,
      // Either a free radius or exactly the distance to one driver, which puts a
      // member on the circle, where a too-small search box would first lose it.
      radius: fc.oneof(
        fc.double({ min: 0, max: 3, noNaN: true }),
        fc.double({ min: 0, max: 25_000, noNaN: true }),
        fc.nat().map((driver) => ({ driver })),
      ),
      // Small counts make the nearest-so-far heap evict; large ones let it hold everything.
      count: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 500 })),
      freshSinceMs: fc.integer({ min: 0, max: 100 }),
    });

    await fc.assert(
      fc.asyncProperty(fleet, fc.array(query, { minLength: 1, maxLength: 5 }), async (drivers, queries) => {
        const index = createMemoryIndex();
        await index.apply(upserts(drivers.map((driver, i) => ({ id: i + 1, ...driver.at, seenAtMs: driver.seenAtMs }))));
        for (const q of queries) {
          const target = typeof q.radius === 'number' ? null : (drivers[q.radius.driver % drivers.length]?.at ?? null);
          const radiusKm = target ? haversineKm(q.at.lat, q.at.lng, target.lat, target.lng) : (q.radius as number);
          const search = { ...q.at, radiusKm, count: q.count, freshSinceMs: q.freshSinceMs };
          const placed = drivers.map((driver, i) => ({ id: i + 1, ...driver.at, seenAtMs: driver.seenAtMs }));
          expect(await index.search(search)).toEqual(bruteForce(placed, search));
        }
      }),
      { numRuns: 300 },
    );
  });
});
