import { KM_PER_DEGREE_LAT, RAD } from '../../src/domain/geo.ts';
import type { Rng } from '../../src/domain/random.ts';

export interface StreetGridOptions {
  centerLat: number;
  centerLng: number;
  /** Manhattan's avenues are roughly 270 m apart. */
  avenueSpacingM: number;
  /** ...and its numbered streets roughly 80 m apart. */
  streetSpacingM: number;
  /** Half the extent across the avenues (local x). */
  halfWidthM: number;
  /** Half the extent along the avenues (local y). */
  halfHeightM: number;
  /** Bearing of the avenues: Manhattan's grid runs about 29° east of true north. */
  rotationDeg: number;
}

/** Times Square, where the hub's seed data puts its drivers. */
export const DEFAULT_GRID: StreetGridOptions = {
  centerLat: 40.7589,
  centerLng: -73.9851,
  avenueSpacingM: 270,
  streetSpacingM: 80,
  halfWidthM: 3000,
  halfHeightM: 6000,
  rotationDeg: 29,
};

/** 0 = up the avenue (+y), 1 = along the street (+x), 2 = down the avenue, 3 = back along the street. */
export type Direction = 0 | 1 | 2 | 3;

export interface GridNode {
  /** Avenue index: the node lies on avenue x = i * avenueSpacingM. */
  i: number;
  /** Street index: the node lies on street y = j * streetSpacingM. */
  j: number;
}

export interface LocalPoint {
  x: number;
  y: number;
}

export interface LatLng {
  lat: number;
  lng: number;
}

const STEP: Record<Direction, readonly [number, number]> = { 0: [0, 1], 1: [1, 0], 2: [0, -1], 3: [-1, 0] };
/** Same sphere as the hub's haversine, so a simulated metre is a hub metre. */
const METRES_PER_DEGREE_LAT = KM_PER_DEGREE_LAT * 1000;

/**
 * A rotated rectangular street grid in local metres (x across the avenues,
 * y along them), mapped to lat/lng with an equirectangular projection: over a
 * few kilometres its error is centimetres, far below GPS noise.
 */
export class StreetGrid {
  readonly options: StreetGridOptions;
  readonly maxI: number;
  readonly maxJ: number;
  private readonly cos: number;
  private readonly sin: number;
  private readonly metresPerDegreeLng: number;

  constructor(options: Partial<StreetGridOptions> = {}) {
    this.options = { ...DEFAULT_GRID, ...options };
    const { avenueSpacingM, streetSpacingM, halfWidthM, halfHeightM, rotationDeg, centerLat } = this.options;
    if (!(avenueSpacingM > 0 && streetSpacingM > 0)) throw new RangeError('grid spacings must be positive');
    this.maxI = Math.floor(halfWidthM / avenueSpacingM);
    this.maxJ = Math.floor(halfHeightM / streetSpacingM);
    // A vehicle needs a neighbour in both axes or it could never turn.
    if (this.maxI < 1 || this.maxJ < 1) throw new RangeError('grid must span at least one block each way');
    this.cos = Math.cos(rotationDeg * RAD);
    this.sin = Math.sin(rotationDeg * RAD);
    this.metresPerDegreeLng = METRES_PER_DEGREE_LAT * Math.cos(centerLat * RAD);
  }

  neighbour(node: GridNode, direction: Direction): GridNode | undefined {
    const [di, dj] = STEP[direction];
    const next = { i: node.i + di, j: node.j + dj };
    return Math.abs(next.i) <= this.maxI && Math.abs(next.j) <= this.maxJ ? next : undefined;
  }

  /** Length of one block when leaving a node in `direction`. */
  blockLengthM(direction: Direction): number {
    return direction % 2 === 0 ? this.options.streetSpacingM : this.options.avenueSpacingM;
  }

  /** The point `offsetM` metres from `node` towards `direction`. */
  pointAlong(node: GridNode, direction: Direction, offsetM: number): LocalPoint {
    const [di, dj] = STEP[direction];
    return {
      x: node.i * this.options.avenueSpacingM + di * offsetM,
      y: node.j * this.options.streetSpacingM + dj * offsetM,
    };
  }

  /** Compass bearing of travel in `direction`, degrees clockwise from true north in [0, 360). */
  headingDeg(direction: Direction): number {
    return (direction * 90 + this.options.rotationDeg + 360) % 360;
  }

  toLatLng(point: LocalPoint): LatLng {
    const east = point.x * this.cos + point.y * this.sin;
    const north = -point.x * this.sin + point.y * this.cos;
    return {
      lat: this.options.centerLat + north / METRES_PER_DEGREE_LAT,
      lng: this.options.centerLng + east / this.metresPerDegreeLng,
    };
  }

  toLocal(position: LatLng): LocalPoint {
    const north = (position.lat - this.options.centerLat) * METRES_PER_DEGREE_LAT;
    const east = (position.lng - this.options.centerLng) * this.metresPerDegreeLng;
    return { x: east * this.cos - north * this.sin, y: east * this.sin + north * this.cos };
  }

  /** The intersection nearest a position, clamped to the grid: where a car stops for a pickup there. */
  nearestNode(position: LatLng): GridNode {
    const { x, y } = this.toLocal(position);
    const clamp = (value: number, max: number) => Math.max(-max, Math.min(max, value));
    return { i: clamp(Math.round(x / this.options.avenueSpacingM), this.maxI), j: clamp(Math.round(y / this.options.streetSpacingM), this.maxJ) };
  }

  randomNode(rng: Rng): GridNode {
    return { i: rng.int(-this.maxI, this.maxI), j: rng.int(-this.maxJ, this.maxJ) };
  }

  /** Any point inside the grid's rectangle, on a street or not: where a rider stands. */
  randomPosition(rng: Rng): LatLng {
    const { halfWidthM, halfHeightM } = this.options;
    return this.toLatLng({ x: rng.range(-halfWidthM, halfWidthM), y: rng.range(-halfHeightM, halfHeightM) });
  }
}
