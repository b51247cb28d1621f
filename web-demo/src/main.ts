import L from 'leaflet';
import { haversineKm } from '../../src/domain/geo.ts';
import { VEHICLE_TYPES } from '../../src/domain/driver.ts';
import { NEARBY_MAX_LIMIT, NEARBY_MAX_RADIUS_KM } from '../../src/protocol/limits.ts';
import { StreetGrid } from '../../clients/sim/street-grid.ts';
import { installBasemap } from './basemap.ts';
import { byId } from './dom.ts';
import { FleetLayer } from './fleet-layer.ts';
import { RiderPanel } from './rider-panel.ts';
import { RequestError, RiderSocket, riderSocketUrl } from './rider-socket.ts';
import { StatusBar } from './status-bar.ts';
import { VEHICLE_STYLES } from './vehicles.ts';

/** How often the map asks for the drivers in view: well under a second, so movement reads as live. */
const SWEEP_MS = 700;
const DEFAULT_ZOOM = 14;

// The simulator's default city, so the map opens where the fleet drives.
const city = new StreetGrid();
const params = new URLSearchParams(location.search);
const start = parseAt(params.get('at')) ?? L.latLng(city.options.centerLat, city.options.centerLng);
const zoom = Number(params.get('zoom')) || DEFAULT_ZOOM;

const map = L.map('map', { zoomControl: false, worldCopyJump: true }).setView(start, zoom);
L.control.zoom({ position: 'topleft' }).addTo(map);
L.control.scale({ position: 'bottomleft', imperial: false }).addTo(map);

const socket = new RiderSocket(riderSocketUrl(location));
const status = new StatusBar(socket);
const fleet = new FleetLayer(map);
new RiderPanel(map, fleet, socket);
void installBasemap(map, city, (kind) => status.setBasemap(kind));
renderLegend();

let sweeping = false;
let pausedUntil = 0;
let lastSweepProblem = '';

/**
 * One nearby query sized to the view stands in for a "drivers in view"
 * subscription the protocol does not have: centre of the view, radius to its
 * farthest corner (capped by the protocol), the protocol's largest limit.
 */
async function sweep(): Promise<void> {
  if (sweeping || !socket.live || Date.now() < pausedUntil) return;
  sweeping = true;
  const centre = map.getCenter();
  const bounds = map.getBounds();
  const reach = Math.max(
    ...[bounds.getNorthWest(), bounds.getNorthEast(), bounds.getSouthWest(), bounds.getSouthEast()].map((corner) =>
      haversineKm(centre.lat, centre.lng, corner.lat, corner.lng),
    ),
  );
  try {
    const { result } = await socket.nearby({
      lat: centre.lat,
      lng: L.Util.wrapNum(centre.lng, [-180, 180], true),
      radiusKm: Math.min(NEARBY_MAX_RADIUS_KM, Math.max(0.1, reach)),
      limit: NEARBY_MAX_LIMIT,
    });
    fleet.update('view', result.drivers);
    status.setInView(result.drivers.length, result.drivers.length >= NEARBY_MAX_LIMIT);
    lastSweepProblem = '';
  } catch (error) {
    reportSweepFailure(error);
  } finally {
    sweeping = false;
  }
}

function reportSweepFailure(error: unknown): void {
  // A dropped socket is the status bar's news, not the console's.
  if (error instanceof RequestError && error.code === 'offline') return;
  if (error instanceof RequestError && error.retryAfterMs) pausedUntil = Date.now() + error.retryAfterMs;
  const problem = error instanceof RequestError ? `${error.code}: ${error.message}` : String(error);
  if (problem !== lastSweepProblem) console.warn('map refresh failed', problem);
  lastSweepProblem = problem;
}

socket.onState((state) => {
  document.body.dataset.connection = state.kind;
  if (state.kind === 'live') void sweep();
});
map.on('moveend', () => void sweep());
setInterval(() => void sweep(), SWEEP_MS);
socket.start();

function renderLegend(): void {
  byId('legend-items').innerHTML = VEHICLE_TYPES.map(
    (type) => `<li><i style="--vehicle:${VEHICLE_STYLES[type].colour}"></i>${VEHICLE_STYLES[type].label}</li>`,
  ).join('');
}

function parseAt(value: string | null): L.LatLng | undefined {
  const [lat, lng] = (value ?? '').split(',').map(Number);
  return lat !== undefined && lng !== undefined && Number.isFinite(lat) && Number.isFinite(lng)
    ? L.latLng(lat, lng)
    : undefined;
}
