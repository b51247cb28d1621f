import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CELL_LAT_DEG, CELL_LNG_DEG, cellOf, cellsCovering, isCell } from '../src/geo/cells.ts';
import { keySlot } from '../src/geo/cluster-slot.ts';
import { haversineKm } from '../src/domain/geo.ts';

describe('cells of the sharded geo index', () => {
  it('are standard 5-character geohashes', () => {
    // Reference values from the geohash definition (geohash.org).
    expect(cellOf(40.758, -73.9855)).toBe('dr5ru');
    expect(cellOf(57.64911, 10.40744)).toBe('u4pru');
    expect(cellOf(-33.8688, 151.2093)).toBe('r3gx2');
    expect(cellOf(0, 0)).toBe('s0000');
    expect(cellOf(-90, -180)).toBe('00000');
    expect(cellOf(90, 180)).toBe('zzzzz');
    expect(isCell('dr5ru')).toBe(true);
    expect(isCell('dr5r')).toBe(false);
    expect(isCell('dr5ra')).toBe(false);
  });

  it('a circle covers every cell a point inside it can be in', () => {
    const point = fc.record({ lat: fc.double({ min: -84, max: 84, noNaN: true }), lng: fc.double({ min: -180, max: 180, noNaN: true, maxExcluded: true }) });
    fc.assert(
      fc.property(
        point,
        fc.double({ min: 0.01, max: 50, noNaN: true }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 2 * Math.PI, noNaN: true })), { minLength: 1, maxLength: 30 }),
        (center, radiusKm, offsets) => {
          const covered = new Set(cellsCovering(center.lat, center.lng, radiusKm));
          for (const [share, bearing] of offsets) {
            // A point at distance share × radius along a bearing, wrapped across the antimeridian.
            const distanceKm = share * radiusKm;
            const dLat = (distanceKm * Math.cos(bearing)) / 111.2;
            const lat = center.lat + dLat;
            const dLng = (distanceKm * Math.sin(bearing)) / (111.2 * Math.cos((lat * Math.PI) / 180));
            const lng = ((center.lng + dLng + 540) % 360) - 180;
            if (haversineKm(center.lat, center.lng, lat, lng) > radiusKm) continue;
            expect(covered.has(cellOf(lat, lng))).toBe(true);
          }
          for (const cell of covered) expect(isCell(cell)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lists only the cells a circle reaches: one to four for a small circle in a city, a few hundred for 50 km', () => {
    const timesSquare = { lat: 40.758, lng: -73.9855 };
    // A circle well inside one cell touches only it.
    const cellCentre = {
      lat: (Math.floor((timesSquare.lat + 90) / CELL_LAT_DEG) + 0.5) * CELL_LAT_DEG - 90,
      lng: (Math.floor((timesSquare.lng + 180) / CELL_LNG_DEG) + 0.5) * CELL_LNG_DEG - 180,
    };
    expect(cellsCovering(cellCentre.lat, cellCentre.lng, 0.3)).toEqual([cellOf(cellCentre.lat, cellCentre.lng)]);
    expect(cellsCovering(timesSquare.lat, timesSquare.lng, 0.5).length).toBeGreaterThanOrEqual(1);
    expect(cellsCovering(timesSquare.lat, timesSquare.lng, 0.5).length).toBeLessThanOrEqual(4);
    const fifty = cellsCovering(timesSquare.lat, timesSquare.lng, 50).length;
    expect(fifty).toBeGreaterThan(300);
    expect(fifty).toBeLessThan(700);
  });

  it('wraps across the antimeridian', () => {
    const cells = cellsCovering(0, 179.99, 5);
    expect(cells).toContain(cellOf(0, -179.99));
    expect(cells).toContain(cellOf(0, 179.99));
  });
});

describe('cluster slots', () => {
  it('hash a key, or its hash tag, as Redis Cluster does', () => {
    // Reference values from CLUSTER KEYSLOT on Redis 7.
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{a}x')).toBe(15495);
    expect(keySlot('{b}x')).toBe(3300);
    expect(keySlot('{c}x')).toBe(7365);
    expect(keySlot('hub:geo:{dr5ru}:seen')).toBe(keySlot('dr5ru'));
    // An empty tag is no tag: the whole key is hashed.
    expect(keySlot('{}x')).not.toBe(keySlot(''));
  });
});
