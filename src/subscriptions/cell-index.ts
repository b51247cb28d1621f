import { EARTH_RADIUS_KM } from '../domain/geo.ts';

// Level k cells are 2^k / 512 degrees on a side: 1/512° (about 217 m of
// latitude) at level 0, 2° at the top. Power-of-two fractions of a degree keep
// `deg * cellsPerDeg` exact, so a longitude and its copy 360° away fall in
// cells exactly a row apart and the antimeridian needs no special case.
const FINEST_CELLS_PER_DEG = 512;
const LEVELS = 11;
/** A circle is watched at the finest level whose cells are at least this fraction of its half-span: at most 5 x 5 cells. */
const CELLS_PER_HALF_SPAN = 2;
const DEG = 180 / Math.PI;
/** Widens covers past floating-point noise at cell edges (about 0.1 mm). */
const EPSILON_DEG = 1e-9;

interface Grid {
  readonly cellsPerDeg: number;
  readonly lngCells: number;
}

interface Level<T> extends Grid {
  readonly cells: Map<number, T[]>;
  /** Members watched at this level; a level with none is skipped by lookups. */
  members: number;
}

/** Where one member is registered, so it can be taken out again. */
export interface CellCover {
  /** Index into the levels, or -1 for the list of members that watch every cell. */
  readonly level: number;
  readonly keys: readonly number[];
}

const WHOLE_WORLD: CellCover = { level: -1, keys: [] };

/**
 * Members (subscriptions) indexed by the grid cells their watched circle
 * touches, on a small pyramid of cell sizes so that a 200 m circle and a
 * 50 km circle each cover only a handful of cells. Looking up a point costs
 * one map read per level in use; a circle that reaches a pole is watched
 * everywhere.
 */
export class CellIndex<T> {
  private readonly levels: Level<T>[] = [];
  private readonly everywhere: T[] = [];

  constructor() {
    for (let k = 0; k < LEVELS; k++) {
      const cellsPerDeg = FINEST_CELLS_PER_DEG / 2 ** k;
      this.levels.push({ cellsPerDeg, lngCells: 360 * cellsPerDeg, cells: new Map(), members: 0 });
    }
  }

  /** Registers `member` for every cell the circle touches and returns where, for remove(). */
  add(member: T, lat: number, lng: number, radiusKm: number): CellCover {
    const cover = coverOf(this.levels, lat, lng, radiusKm);
    if (cover.level < 0) {
      this.everywhere.push(member);
      return cover;
    }
    const level = this.levels[cover.level] as Level<T>;
    level.members++;
    for (const key of cover.keys) {
      const cell = level.cells.get(key);
      if (cell) cell.push(member);
      else level.cells.set(key, [member]);
    }
    return cover;
  }

  remove(member: T, cover: CellCover): void {
    if (cover.level < 0) {
      removeFrom(this.everywhere, member);
      return;
    }
    const level = this.levels[cover.level] as Level<T>;
    level.members--;
    for (const key of cover.keys) {
      const cell = level.cells.get(key);
      if (!cell) continue;
      removeFrom(cell, member);
      if (cell.length === 0) level.cells.delete(key);
    }
  }

  /**
   * Calls `visit` for every member whose cover holds the point. A member is
   * filed at one level, so it is visited once, unless `visit` re-files it
   * (callers guard against that). Walked backwards so that `visit` may take
   * the member out of this cell: swap-removal only moves visited members.
   */
  forEachAt(lat: number, lng: number, visit: (member: T) => void): void {
    for (const level of this.levels) {
      if (level.members === 0) continue;
      const cell = level.cells.get(cellKey(level, lat, lng));
      if (cell) for (let i = cell.length - 1; i >= 0; i--) if (i < cell.length) visit(cell[i] as T);
    }
    const everywhere = this.everywhere;
    for (let i = everywhere.length - 1; i >= 0; i--) if (i < everywhere.length) visit(everywhere[i] as T);
  }
}

function removeFrom<T>(list: T[], member: T): void {
  const index = list.indexOf(member);
  if (index < 0) return;
  const last = list.pop() as T;
  if (index < list.length) list[index] = last;
}

function latCell(level: Grid, lat: number): number {
  return Math.min(180 * level.cellsPerDeg - 1, Math.max(0, Math.floor((lat + 90) * level.cellsPerDeg)));
}

function wrapLngCell(level: Grid, cell: number): number {
  return ((cell % level.lngCells) + level.lngCells) % level.lngCells;
}

function cellKey(level: Grid, lat: number, lng: number): number {
  return latCell(level, lat) * level.lngCells + wrapLngCell(level, Math.floor((lng + 180) * level.cellsPerDeg));
}

/** The cells of the circle's bounding box at the coarsest level it needs (the same spherical-cap box as the in-process geo index). */
function coverOf(levels: readonly Grid[], lat: number, lng: number, radiusKm: number): CellCover {
  const angular = radiusKm / EARTH_RADIUS_KM;
  const latSpan = angular * DEG + EPSILON_DEG;
  const minLat = lat - latSpan;
  const maxLat = lat + latSpan;
  const sinRatio = Math.sin(angular) / Math.cos(lat / DEG);
  if (angular >= Math.PI / 2 || minLat <= -90 || maxLat >= 90 || sinRatio >= 1) return WHOLE_WORLD;
  const lngSpan = Math.asin(sinRatio) * DEG + EPSILON_DEG;
  const halfSpanDeg = Math.max(latSpan, lngSpan);
  const index = levels.findIndex((level) => 1 / level.cellsPerDeg >= halfSpanDeg / CELLS_PER_HALF_SPAN);
  if (index < 0) return WHOLE_WORLD;
  const level = levels[index] as Grid;
  const latFrom = latCell(level, minLat);
  const latTo = latCell(level, maxLat);
  const lngFrom = Math.floor((lng - lngSpan + 180) * level.cellsPerDeg);
  const lngTo = Math.floor((lng + lngSpan + 180) * level.cellsPerDeg);
  const keys: number[] = [];
  for (let row = latFrom; row <= latTo; row++) {
    for (let column = lngFrom; column <= lngTo; column++) keys.push(row * level.lngCells + wrapLngCell(level, column));
  }
  return { level: index, keys };
}
