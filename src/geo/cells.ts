import { EARTH_RADIUS_KM, haversineKm } from '../domain/geo.ts';

/**
 * Cells of the sharded geo index: geohash cells of 5 characters, 0.0439° on
 * each side (4.9 km north-south; 3.7 km east-west at New York's latitude).
 * Why 5 (docs/scaling.md has the measurements): a nearby search at the
 * radii the hub actually starts with (0.5-2 km) covers 1-4 cells; a city is
 * split into tens of cells, so its load spreads over every node of a
 * cluster; and a driver at city speed crosses a cell boundary about once
 * every 5 minutes, so key moves are a small share of writes. Precision 4
 * (39 × 20 km) would put a whole city centre on one node; precision 6
 * (1.2 × 0.6 km) would make a 2 km search fan out to 20-40 cells.
 */
export const CELL_PRECISION = 5;

const BASE32 = '0123456789bcdefghjkmnpqrstuvwxyz';
const LNG_BITS = Math.ceil((CELL_PRECISION * 5) / 2);
const LAT_BITS = Math.floor((CELL_PRECISION * 5) / 2);
const COLUMNS = 2 ** LNG_BITS;
const ROWS = 2 ** LAT_BITS;
/** Degrees of longitude and latitude per cell. */
export const CELL_LNG_DEG = 360 / COLUMNS;
export const CELL_LAT_DEG = 180 / ROWS;
const CELL_PATTERN = new RegExp(`^[${BASE32}]{${CELL_PRECISION}}$`);

/** Room for the index's own distance (52-bit geohash positions) beyond ours: a cell this close is searched too. */
const COVER_SLACK_KM = 0.005;
const COVER_SLACK_RATIO = 1e-3;

function column(lng: number): number {
  return Math.min(COLUMNS - 1, Math.max(0, Math.floor(((lng + 180) / 360) * COLUMNS)));
}

function row(lat: number): number {
  return Math.min(ROWS - 1, Math.max(0, Math.floor(((lat + 90) / 180) * ROWS)));
}

/** The geohash of cell (x, y): bits interleaved from longitude's most significant, five to a character. */
function encode(x: number, y: number): string {
  let hash = '';
  let chunk = 0;
  let bits = 0;
  for (let i = 0; i < LNG_BITS + LAT_BITS; i++) {
    const even = i % 2 === 0;
    const bit = even ? (x >> (LNG_BITS - 1 - i / 2)) & 1 : (y >> (LAT_BITS - 1 - (i - 1) / 2)) & 1;
    chunk = (chunk << 1) | bit;
    if (++bits === 5) {
      hash += BASE32[chunk];
      chunk = 0;
      bits = 0;
    }
  }
  return hash;
}

/** The cell holding a position. */
export function cellOf(lat: number, lng: number): string {
  return encode(column(lng), row(lat));
}

/** Whether a string is a cell name this index uses (for keys found by a scan). */
export function isCell(text: string): boolean {
  return CELL_PATTERN.test(text);
}

/** Shortest great-circle distance from a point to a cell's lat/lng rectangle (nearest point by clamping: exact to metres at these sizes). */
function distanceToCellKm(lat: number, lng: number, x: number, y: number): number {
  const south = y * CELL_LAT_DEG - 90;
  const west = x * CELL_LNG_DEG - 180;
  const nearestLat = Math.min(south + CELL_LAT_DEG, Math.max(south, lat));
  // Longitude on a circle: the offset from the cell's west edge, taken into [0, 360).
  const east = (((lng - west) % 360) + 360) % 360;
  const nearestLng = east <= CELL_LNG_DEG ? lng : east - CELL_LNG_DEG < 360 - east ? west + CELL_LNG_DEG : west;
  return haversineKm(lat, lng, nearestLat, nearestLng);
}

/**
 * Every cell a circle reaches, so a search may query exactly those. A
 * superset by a few metres: a member the index places inside the circle is
 * always in one of the returned cells.
 */
export function cellsCovering(lat: number, lng: number, radiusKm: number): string[] {
  const reachKm = radiusKm * (1 + COVER_SLACK_RATIO) + COVER_SLACK_KM;
  const angle = reachKm / EARTH_RADIUS_KM;
  const dLat = (angle * 180) / Math.PI;
  const south = Math.max(-90, lat - dLat);
  const north = Math.min(90, lat + dLat);
  // How far east and west the circle reaches: all the way round when it covers a pole.
  const sinReach = Math.sin(angle) / Math.cos((lat * Math.PI) / 180);
  const wholeBand = north >= 90 || south <= -90 || sinReach >= 1;
  const dLng = wholeBand ? 180 : (Math.asin(sinReach) * 180) / Math.PI;
  const firstX = wholeBand ? 0 : Math.floor(((lng - dLng + 180) / 360) * COLUMNS);
  const lastX = wholeBand ? COLUMNS - 1 : Math.floor(((lng + dLng + 180) / 360) * COLUMNS);
  const cells: string[] = [];
  for (let y = row(south); y <= row(north); y++) {
    for (let unwrapped = firstX; unwrapped <= lastX; unwrapped++) {
      const x = ((unwrapped % COLUMNS) + COLUMNS) % COLUMNS;
      if (distanceToCellKm(lat, lng, x, y) <= reachKm) cells.push(encode(x, y));
    }
  }
  return cells;
}
