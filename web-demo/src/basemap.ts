import L from 'leaflet';

export type BasemapKind = 'osm' | 'offline';

const OSM_URL = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';
const OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors';
const OFFLINE_ATTRIBUTION = 'Offline basemap: the simulated street grid';
const PROBE_TIMEOUT_MS = 2500;
/** Tile errors tolerated once OSM was reachable, before the network is taken as gone. */
const TILE_ERRORS_BEFORE_FALLBACK = 4;

/**
 * Picks the basemap once: a single tile probe decides, so a machine without
 * internet never fires a screenful of failing tile requests. If OSM was
 * reachable and later stops answering, the map drops to the offline layer.
 */
export async function installBasemap(map: L.Map, grid: CityGrid, onChange: (kind: BasemapKind) => void): Promise<void> {
  const offline = () => {
    new OfflineBasemap(grid).addTo(map);
    onChange('offline');
  };
  if (!(await tileReachable(OSM_URL.replace('{z}/{x}/{y}', '0/0/0')))) {
    offline();
    return;
  }
  const osm = L.tileLayer(OSM_URL, { maxZoom: 19, attribution: OSM_ATTRIBUTION });
  let errors = 0;
  osm.on('tileerror', () => {
    errors += 1;
    if (errors !== TILE_ERRORS_BEFORE_FALLBACK) return;
    osm.remove();
    offline();
  });
  osm.addTo(map);
  onChange('osm');
}

function tileReachable(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const image = new Image();
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    function finish(ok: boolean) {
      clearTimeout(timer);
      image.onload = image.onerror = null;
      // Stops a probe that timed out from still downloading in the background.
      if (!ok) image.src = '';
      resolve(ok);
    }
    image.onload = () => finish(true);
    image.onerror = () => finish(false);
    image.src = url;
  });
}

// ---- offline basemap ----

/** The street grid the simulator drives on; the offline map draws exactly these streets. */
export interface CityGrid {
  readonly options: { avenueSpacingM: number; streetSpacingM: number };
  toLatLng(point: { x: number; y: number }): { lat: number; lng: number };
  toLocal(position: { lat: number; lng: number }): { x: number; y: number };
}

const LAND = '#eef0ec';
const PARK = '#d2e8c4';
const WATER = '#b6d9e8';
const STREET = '#ffffff';
const STREET_CASING = '#d8dbd4';
const ARTERIAL = '#fdf0c8';
const ARTERIAL_CASING = '#e3cf94';
/** Every n-th avenue and street is an arterial, as Manhattan's wide crosstown streets are. */
const ARTERIAL_EVERY_AVENUES = 4;
const ARTERIAL_EVERY_STREETS = 10;
/** Parks and ponds fill runs of this many blocks along the avenue. */
const PARK_BLOCKS = 5;
const PARK_INSET_M = 9;

/**
 * A canvas map of the simulated city: land, parks, ponds and its street grid,
 * so the drivers visibly drive along streets even with no tile server.
 */
class OfflineBasemap extends L.GridLayer {
  constructor(private readonly grid: CityGrid) {
    super({ attribution: OFFLINE_ATTRIBUTION, maxZoom: 19 });
  }

  override createTile(coords: L.Coords): HTMLElement {
    const size = this.getTileSize();
    const ratio = window.devicePixelRatio || 1;
    const canvas = document.createElement('canvas');
    canvas.width = size.x * ratio;
    canvas.height = size.y * ratio;
    const ctx = canvas.getContext('2d');
    if (ctx) {
      ctx.scale(ratio, ratio);
      new TilePainter(ctx, this.grid, coords, size.x).paint();
    }
    return canvas;
  }
}

class TilePainter {
  private readonly scale: number;
  private readonly originX: number;
  private readonly originY: number;
  /** The tile's extent in the grid's local metres, one street's width wider all round. */
  private readonly minX: number;
  private readonly maxX: number;
  private readonly minY: number;
  private readonly maxY: number;

  constructor(
    private readonly ctx: CanvasRenderingContext2D,
    private readonly grid: CityGrid,
    private readonly coords: L.Coords,
    private readonly size: number,
  ) {
    this.scale = size * 2 ** coords.z;
    this.originX = coords.x * size;
    this.originY = coords.y * size;
    const corners = [
      [0, 0],
      [size, 0],
      [0, size],
      [size, size],
    ].map(([px, py]) => grid.toLocal(this.latLngAt(this.originX + px!, this.originY + py!)));
    const pad = 40;
    this.minX = Math.min(...corners.map((c) => c.x)) - pad;
    this.maxX = Math.max(...corners.map((c) => c.x)) + pad;
    this.minY = Math.min(...corners.map((c) => c.y)) - pad;
    this.maxY = Math.max(...corners.map((c) => c.y)) + pad;
  }

  paint(): void {
    const { ctx, size } = this;
    const z = this.coords.z;
    ctx.fillStyle = LAND;
    ctx.fillRect(0, 0, size, size);
    if (z < 11) return;
    const { avenueSpacingM, streetSpacingM } = this.grid.options;
    const avenues = this.indices(this.minX, this.maxX, avenueSpacingM);
    const streets = this.indices(this.minY, this.maxY, streetSpacingM);
    // Side streets first, so parks and ponds cover them the way a real park interrupts the grid.
    if (z >= 13) {
      const minorAvenues = avenues.filter((i) => i % ARTERIAL_EVERY_AVENUES !== 0);
      const minorStreets = z >= 14 ? streets.filter((j) => j % ARTERIAL_EVERY_STREETS !== 0) : [];
      // At 14 a side street is a hairline: casing on lines ten pixels apart would grey the whole city.
      const width = z <= 14 ? 1.2 : (z - 14) * 2.5;
      this.paintLines(minorAvenues, minorStreets, width, z <= 14 ? undefined : STREET_CASING, STREET);
    }
    if (z >= 12) this.paintBlocks();
    this.paintLines(
      avenues.filter((i) => i % ARTERIAL_EVERY_AVENUES === 0),
      streets.filter((j) => j % ARTERIAL_EVERY_STREETS === 0),
      Math.max(1.5, (z - 11) * 1.8),
      ARTERIAL_CASING,
      ARTERIAL,
    );
  }

  /** Parks and ponds are picked by a hash of their block, so they stay put across tiles and zooms. */
  private paintBlocks(): void {
    const { avenueSpacingM, streetSpacingM } = this.grid.options;
    const runM = streetSpacingM * PARK_BLOCKS;
    for (const i of this.indices(this.minX - avenueSpacingM, this.maxX, avenueSpacingM)) {
      for (const j of this.indices(this.minY - runM, this.maxY, runM)) {
        const h = hash(i, j);
        const fill = h < 0.008 ? WATER : h < 0.07 ? PARK : undefined;
        if (!fill) continue;
        // Inset from the bounding streets, which stay visible around the park.
        const x0 = i * avenueSpacingM + PARK_INSET_M;
        const x1 = (i + 1) * avenueSpacingM - PARK_INSET_M;
        const y0 = j * runM + PARK_INSET_M;
        const y1 = (j + 1) * runM - PARK_INSET_M;
        this.ctx.fillStyle = fill;
        this.ctx.beginPath();
        this.moveTo({ x: x0, y: y0 });
        this.lineTo({ x: x1, y: y0 });
        this.lineTo({ x: x1, y: y1 });
        this.lineTo({ x: x0, y: y1 });
        this.ctx.fill();
      }
    }
  }

  private paintLines(avenues: number[], streets: number[], width: number, casing: string | undefined, fill: string): void {
    const { ctx } = this;
    const { avenueSpacingM, streetSpacingM } = this.grid.options;
    const passes: Array<[string, number]> = casing ? [[casing, width + 1.5]] : [];
    passes.push([fill, width]);
    ctx.lineCap = 'butt';
    for (const [style, lineWidth] of passes) {
      ctx.strokeStyle = style;
      ctx.lineWidth = lineWidth;
      ctx.beginPath();
      for (const i of avenues) {
        this.moveTo({ x: i * avenueSpacingM, y: this.minY });
        this.lineTo({ x: i * avenueSpacingM, y: this.maxY });
      }
      for (const j of streets) {
        this.moveTo({ x: this.minX, y: j * streetSpacingM });
        this.lineTo({ x: this.maxX, y: j * streetSpacingM });
      }
      ctx.stroke();
    }
  }

  private indices(from: number, to: number, spacing: number): number[] {
    const out: number[] = [];
    for (let k = Math.ceil(from / spacing); k * spacing <= to; k++) out.push(k);
    return out;
  }

  private moveTo(point: { x: number; y: number }): void {
    const [x, y] = this.pixelOf(point);
    this.ctx.moveTo(x, y);
  }

  private lineTo(point: { x: number; y: number }): void {
    const [x, y] = this.pixelOf(point);
    this.ctx.lineTo(x, y);
  }

  // Web Mercator in Leaflet's world pixels at this zoom, offset to the tile.

  private pixelOf(point: { x: number; y: number }): [number, number] {
    const { lat, lng } = this.grid.toLatLng(point);
    const rad = (lat * Math.PI) / 180;
    const y = (1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2;
    return [((lng + 180) / 360) * this.scale - this.originX, y * this.scale - this.originY];
  }

  private latLngAt(worldX: number, worldY: number): { lat: number; lng: number } {
    const n = Math.PI * (1 - (2 * worldY) / this.scale);
    return { lat: (Math.atan(Math.sinh(n)) * 180) / Math.PI, lng: (worldX / this.scale) * 360 - 180 };
  }
}

function hash(i: number, j: number): number {
  let h = Math.imul(i, 374_761_393) ^ Math.imul(j, 668_265_263);
  h = Math.imul(h ^ (h >>> 13), 1_274_126_177);
  return ((h ^ (h >>> 16)) >>> 0) / 4_294_967_296;
}
