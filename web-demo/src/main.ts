import L from 'leaflet';
import { haversineKm } from '../../src/domain/geo.ts';
import { VEHICLE_TYPES } from '../../src/domain/driver.ts';
import { NEARBY_MAX_LIMIT, NEARBY_MAX_RADIUS_KM } from '../../src/protocol/limits.ts';
import { StreetGrid } from '../../clients/sim/street-grid.ts';
import { installBasemap } from './basemap.ts';
import { byId } from './dom.ts';
import { FleetLayer } from './fleet-layer.ts';
import { RidePanel } from './ride-panel.ts';
import { RiderPanel } from './rider-panel.ts';
import { RiderSocket, riderSocketUrl, type RequestError } from './rider-socket.ts';
import { StatusBar } from './status-bar.ts';
import { VEHICLE_STYLES } from './vehicles.ts';

/** A view whose reach changed less than this share keeps its subscription and only re-centres it. */
const REACH_TOLERANCE = 0.1;
const DEFAULT_ZOOM = 14;

// The simulator's default city, so the map opens where the fleet drives.
const city = new StreetGrid();
const params = new URLSearchParams(location.search);
const start = parseAt(params.get('at')) ?? L.latLng(city.options.centerLat, city.options.centerLng);
const zoom = Number(params.get('zoom')) || DEFAULT_ZOOM;

const map = L.map('map', { zoomControl: false, worldCopyJump: true }).setView(start, zoom);
L.control.zoom({ position: 'topleft' }).addTo(map);
L.control.scale({ position: 'bottomleft', imperial: false }).addTo(map);

const socket = new RiderSocket(() => riderSocketUrl(location));
const status = new StatusBar(socket);
const fleet = new FleetLayer(map);
const riderPanel = new RiderPanel(map, fleet, socket);
const ridePanel = new RidePanel(map, socket, () => riderPanel.position);
riderPanel.onRiderChange = () => ridePanel.riderMoved();
void installBasemap(map, city, (kind) => status.setBasemap(kind));
renderLegend();

/** The live list behind the dots: one subscription sized to the view. */
let view: { id: string; radiusKm: number } | undefined;
let lastViewProblem = '';

/**
 * Subscribes to the drivers in view: centre of the view, radius to its
 * farthest corner (capped by the protocol), the protocol's largest limit. A
 * pan re-centres the subscription; a zoom or resize that changes the reach
 * replaces it. The hub then pushes the list whenever it changes.
 */
function watchView(): void {
  const centre = map.getCenter();
  const bounds = map.getBounds();
  const reach = Math.max(
    ...[bounds.getNorthWest(), bounds.getNorthEast(), bounds.getSouthWest(), bounds.getSouthEast()].map((corner) =>
      haversineKm(centre.lat, centre.lng, corner.lat, corner.lng),
    ),
  );
  const radiusKm = Math.min(NEARBY_MAX_RADIUS_KM, Math.max(0.1, reach));
  const lng = L.Util.wrapNum(centre.lng, [-180, 180], true);
  if (view && Math.abs(radiusKm - view.radiusKm) <= view.radiusKm * REACH_TOLERANCE) {
    socket.move(view.id, centre.lat, lng);
    return;
  }
  if (view) socket.unwatch(view.id);
  const id = socket.watch(
    { lat: centre.lat, lng, radiusKm, limit: NEARBY_MAX_LIMIT },
    {
      update: (update) => {
        fleet.update('view', update.drivers);
        status.setInView(update.drivers.length, update.drivers.length >= NEARBY_MAX_LIMIT);
        lastViewProblem = '';
      },
      error: reportViewFailure,
    },
  );
  view = id === undefined ? undefined : { id, radiusKm };
}

function reportViewFailure(error: RequestError): void {
  const problem = `${error.code}: ${error.message}`;
  if (problem !== lastViewProblem) console.warn('map subscription refused', problem);
  lastViewProblem = problem;
}

socket.onState((state) => {
  document.body.dataset.connection = state.kind;
});
map.on('moveend', watchView);
watchView();
socket.start();

function renderLegend(): void {
  byId('legend-items').innerHTML = VEHICLE_TYPES.map(
    (type) => `<li><i style="--vehicle:${VEHICLE_STYLES[type].colour}"></i>${VEHICLE_STYLES[type].label}</li>`,
  ).join('');
}

function parseAt(value: string | null): L.LatLng | undefined {
  const [lat, lng] = (value ?? '').split(',').map(Number);
  return lat !== undefined && lng !== undefined && Number.isFinite(lat) && Number.isFinite(lng) ? L.latLng(lat, lng) : undefined;
}
