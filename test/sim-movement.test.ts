import { describe, expect, it } from 'vitest';
import { haversineKm, KM_PER_DEGREE_LAT } from '../src/domain/geo.ts';
import { checkNearbyAnswer } from '../clients/core/answer-check.ts';
import { backoffDelayMs } from '../clients/lib/backoff.ts';
import { parseDuration } from '../clients/lib/duration.ts';
import { LatencyHistogram } from '../clients/lib/latency-histogram.ts';
import { DEFAULT_MOVEMENT, Vehicle, type VehicleState } from '../clients/sim/movement.ts';
import { createRng, deriveSeed } from '../src/domain/random.ts';
import { SimStats } from '../clients/sim/stats.ts';
import { StreetGrid } from '../clients/sim/street-grid.ts';
import type { NearbyDriver } from '../src/protocol/messages.ts';

const grid = new StreetGrid();
const { avenueSpacingM, streetSpacingM, halfWidthM, halfHeightM } = grid.options;

function drive(seed: number, steps: number, dtS = 1): VehicleState[] {
  const vehicle = new Vehicle(grid, createRng(seed));
  return Array.from({ length: steps }, () => {
    vehicle.step(dtS);
    return vehicle.state();
  });
}

/** Distance from the nearest avenue or street line, whichever is closer. */
function offGridM(x: number, y: number): number {
  const offAvenue = Math.abs(x - Math.round(x / avenueSpacingM) * avenueSpacingM);
  const offStreet = Math.abs(y - Math.round(y / streetSpacingM) * streetSpacingM);
  return Math.min(offAvenue, offStreet);
}

describe('street grid', () => {
  it('round-trips local metres through lat/lng', () => {
    const point = { x: 1234.5, y: -4321 };
    const back = grid.toLocal(grid.toLatLng(point));
    expect(back.x).toBeCloseTo(point.x, 6);
    expect(back.y).toBeCloseTo(point.y, 6);
  });

  it('maps metres to the hub metric and runs avenues 29° east of north', () => {
    const origin = grid.toLatLng({ x: 0, y: 0 });
    const uptown = grid.toLatLng({ x: 0, y: 1000 });
    expect(origin).toEqual({ lat: 40.7589, lng: -73.9851 });
    expect(haversineKm(origin.lat, origin.lng, uptown.lat, uptown.lng)).toBeCloseTo(1, 3);
    expect(grid.headingDeg(0)).toBe(29);
    expect(grid.headingDeg(3)).toBe(299);
  });

  it('refuses a grid too small to turn in', () => {
    expect(() => new StreetGrid({ halfWidthM: 100 })).toThrow(RangeError);
  });
});

describe('vehicle movement', () => {
  it('stays on a street or avenue and inside the grid', () => {
    let worstOffGridM = 0;
    let worstMappedOffGridM = 0;
    let outside = 0;
    for (let seed = 1; seed <= 20; seed++) {
      for (const s of drive(seed, 2_000)) {
        worstOffGridM = Math.max(worstOffGridM, offGridM(s.x, s.y));
        if (Math.abs(s.x) > halfWidthM || Math.abs(s.y) > halfHeightM) outside += 1;
        // The lat/lng sent to the hub must map back onto the same street.
        const local = grid.toLocal(s);
        worstMappedOffGridM = Math.max(worstMappedOffGridM, offGridM(local.x, local.y));
      }
    }
    expect(worstOffGridM).toBeLessThan(1e-6);
    expect(worstMappedOffGridM).toBeLessThan(1e-3);
    expect(outside).toBe(0);
  });

  it('moves at city speeds between 15 and 50 km/h, and only along its heading', () => {
    const states = drive(7, 5_000, 0.5);
    const moving = states.filter((s) => !s.paused);
    expect(moving.length).toBeGreaterThan(1_000);
    for (const s of moving) {
      expect(s.speedKmh).toBeGreaterThanOrEqual(15);
      expect(s.speedKmh).toBeLessThanOrEqual(50);
    }
    for (const s of states.filter((s) => s.paused)) expect(s.speedKmh).toBe(0);
    // Distance covered per step can never exceed the top speed, corners included.
    for (let i = 1; i < states.length; i++) {
      const a = states[i - 1]!;
      const b = states[i]!;
      expect(Math.abs(b.x - a.x) + Math.abs(b.y - a.y)).toBeLessThanOrEqual((50 / 3.6) * 0.5 + 1e-9);
    }
  });

  it('uses avenue speeds on avenues and street speeds on streets', () => {
    for (const s of drive(11, 3_000).filter((state) => !state.paused)) {
      const onAvenue = (s.headingDeg - grid.options.rotationDeg + 360) % 180 === 0;
      const [min, max] = onAvenue ? DEFAULT_MOVEMENT.avenueSpeedKmh : DEFAULT_MOVEMENT.streetSpeedKmh;
      expect(s.speedKmh).toBeGreaterThanOrEqual(min);
      expect(s.speedKmh).toBeLessThanOrEqual(max);
    }
  });

  it('is deterministic per seed and differs between seeds', () => {
    expect(drive(42, 500)).toEqual(drive(42, 500));
    expect(drive(42, 500)).not.toEqual(drive(43, 500));
  });

  it('gives the same path whatever the step size', () => {
    const coarse = new Vehicle(grid, createRng(5));
    const fine = new Vehicle(grid, createRng(5));
    for (let i = 0; i < 300; i++) {
      coarse.step(2);
      fine.step(1);
      fine.step(1);
      expect(fine.state().x).toBeCloseTo(coarse.state().x, 6);
      expect(fine.state().y).toBeCloseTo(coarse.state().y, 6);
    }
  });

  it('pauses at lights and stops, and turns at intersections', () => {
    const states = drive(3, 3_600);
    const pausedShare = states.filter((s) => s.paused).length / states.length;
    expect(pausedShare).toBeGreaterThan(0.05);
    expect(pausedShare).toBeLessThan(0.8);
    const headings = new Set(states.map((s) => s.headingDeg));
    expect(headings.size).toBe(4);
    for (const s of states.filter((state) => state.paused)) {
      expect(Math.abs(s.x / avenueSpacingM - Math.round(s.x / avenueSpacingM))).toBeLessThan(1e-9);
      expect(Math.abs(s.y / streetSpacingM - Math.round(s.y / streetSpacingM))).toBeLessThan(1e-9);
    }
  });
});

describe('seeded rng', () => {
  it('derives distinct, stable seeds per actor', () => {
    expect(deriveSeed('run', 'vehicle', 1)).toBe(deriveSeed('run', 'vehicle', 1));
    expect(deriveSeed('run', 'vehicle', 1)).not.toBe(deriveSeed('run', 'vehicle', 2));
    expect(deriveSeed('run', 'vehicle', 1)).not.toBe(deriveSeed('run', 'driver', 1));
  });

  it('stays in range', () => {
    const rng = createRng(9);
    for (let i = 0; i < 10_000; i++) {
      const value = rng.int(-3, 3);
      expect(Number.isInteger(value) && value >= -3 && value <= 3).toBe(true);
      expect(rng.next()).toBeLessThan(1);
    }
  });
});

describe('latency histogram percentiles', () => {
  it('is null when empty', () => {
    const histogram = new LatencyHistogram();
    expect(histogram.percentile(50)).toBeNull();
    expect(histogram.max).toBeNull();
  });

  it('is exact for a single value', () => {
    const histogram = new LatencyHistogram();
    histogram.record(3.7);
    expect(histogram.percentile(0)).toBe(3.7);
    expect(histogram.percentile(50)).toBe(3.7);
    expect(histogram.percentile(100)).toBe(3.7);
  });

  it('matches nearest-rank percentiles within 1%', () => {
    const values = Array.from({ length: 1000 }, (_, i) => i + 1);
    const histogram = new LatencyHistogram();
    for (const value of createShuffled(values)) histogram.record(value);
    expect(histogram.count).toBe(1000);
    expect(Math.abs(histogram.percentile(50)! / 500 - 1)).toBeLessThan(0.01);
    expect(Math.abs(histogram.percentile(99)! / 990 - 1)).toBeLessThan(0.01);
    expect(histogram.percentile(100)).toBe(1000);
    expect(histogram.mean).toBeCloseTo(500.5, 9);
  });

  it('finds a slow tail behind a fast majority', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 980; i++) histogram.record(2);
    for (let i = 0; i < 20; i++) histogram.record(400);
    expect(Math.abs(histogram.percentile(50)! / 2 - 1)).toBeLessThan(0.01);
    expect(histogram.percentile(98)).toBeCloseTo(2, 1);
    expect(Math.abs(histogram.percentile(99)! / 400 - 1)).toBeLessThan(0.01);
  });

  it('ignores values that are not latencies', () => {
    const histogram = new LatencyHistogram();
    histogram.record(Number.NaN);
    histogram.record(-1);
    histogram.record(Infinity);
    expect(histogram.count).toBe(0);
  });
});

describe('stats', () => {
  it('reports window percentiles and resets them per snapshot', () => {
    const stats = new SimStats(10, 1);
    stats.frameAcked(5);
    stats.frameAcked(7);
    stats.frameAcked(undefined);
    const first = stats.snapshot();
    expect(Math.abs(first.ackP50Ms! / 5 - 1)).toBeLessThan(0.01);
    expect(Math.abs(first.ackP99Ms! / 7 - 1)).toBeLessThan(0.01);
    expect(stats.snapshot().ackP50Ms).toBeNull();
    const summary = stats.summary();
    expect(summary.frames.acked).toBe(3);
    expect(summary.ackLatencyMs.count).toBe(2);
  });

  it('counts violations as errors too', () => {
    const stats = new SimStats(1, 1);
    stats.violation('order');
    stats.error('overloaded');
    const summary = stats.summary();
    expect(summary.violationCount).toBe(1);
    expect(summary.errorCount).toBe(2);
    expect(summary.errors).toEqual({ overloaded: 1, 'violation.order': 1 });
  });
});

describe('nearby answer check', () => {
  const query = { t: 'nearby' as const, id: 1, lat: 40.7589, lng: -73.9851, radiusKm: 3, limit: 3 };
  const at = (id: number, northKm: number, rating: number): NearbyDriver => {
    const lat = query.lat + northKm / KM_PER_DEGREE_LAT;
    return { id, name: `d${id}`, vehicleType: 'economy', rating, lat, lng: query.lng, distanceKm: haversineKm(query.lat, query.lng, lat, query.lng) };
  };

  it('accepts a correctly ranked answer, ties broken by higher rating', () => {
    const tieA = at(2, 1, 4.9);
    const tieB = { ...at(3, 1, 4.1), distanceKm: tieA.distanceKm };
    expect(checkNearbyAnswer(query, [at(1, 0.5, 3), tieA, tieB])).toEqual([]);
  });

  it('flags distance order, tie order, limit, radius, filters and duplicates', () => {
    expect(checkNearbyAnswer(query, [at(1, 1, 5), at(2, 0.5, 5)])).toEqual(['order']);
    const tieA = at(2, 1, 4.1);
    expect(checkNearbyAnswer(query, [tieA, { ...at(3, 1, 4.9), distanceKm: tieA.distanceKm }])).toEqual(['order']);
    expect(checkNearbyAnswer(query, [at(1, 0.1, 5), at(2, 0.2, 5), at(3, 0.3, 5), at(4, 0.4, 5)])).toEqual(['limit']);
    expect(checkNearbyAnswer(query, [at(1, 3.5, 5)])).toEqual(['radius']);
    expect(checkNearbyAnswer(query, [{ ...at(1, 1, 5), distanceKm: 0.5 }])).toEqual(['distance']);
    expect(checkNearbyAnswer({ ...query, minRating: 4.5 }, [at(1, 1, 4)])).toEqual(['filter']);
    expect(checkNearbyAnswer({ ...query, vehicleType: 'van' }, [at(1, 1, 5)])).toEqual(['filter']);
    expect(checkNearbyAnswer(query, [at(1, 1, 5), at(1, 1, 5)])).toEqual(['duplicate']);
  });
});

describe('backoff and durations', () => {
  it('doubles the window up to the cap, jittering within its upper half', () => {
    const rng = createRng(1);
    for (let attempt = 0; attempt < 12; attempt++) {
      const window = Math.min(30_000, 500 * 2 ** attempt);
      const delay = backoffDelayMs(attempt, rng);
      expect(delay).toBeGreaterThanOrEqual(window / 2);
      expect(delay).toBeLessThanOrEqual(window);
    }
  });

  it('parses CLI and k6 style durations', () => {
    expect(parseDuration('250')).toBe(250);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(() => parseDuration('2 seconds')).toThrow(RangeError);
    expect(() => parseDuration('')).toThrow(RangeError);
  });
});

/** A fixed shuffle, so insertion order cannot be what makes the percentiles right. */
function createShuffled(values: number[]): number[] {
  const rng = createRng(123);
  const copy = [...values];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
