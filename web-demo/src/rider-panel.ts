import L from 'leaflet';
import { NEARBY_DEFAULT_RADIUS_KM, NEARBY_MAX_LIMIT, NEARBY_MAX_RADIUS_KM } from '../../src/protocol/limits.ts';
import { VEHICLE_TYPES, type VehicleType } from '../../src/domain/driver.ts';
import type { NearbyDriver, NearbyUpdateMessage } from '../../src/protocol/messages.ts';
import { byId, escapeHtml, formatDistance, formatMs, formatRadius } from './dom.ts';
import type { FleetLayer } from './fleet-layer.ts';
import type { RequestError, RiderSocket } from './rider-socket.ts';
import { isVehicleType, vehicleStyle, VEHICLE_STYLES } from './vehicles.ts';

const RADIUS_STEPS_KM = [0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30, 50].filter((km) => km <= NEARBY_MAX_RADIUS_KM);
const MIN_RATINGS = [0, 3.5, 4, 4.5, 4.8];
const RESULT_LIMIT = Math.min(10, NEARBY_MAX_LIMIT);

interface Filters {
  radiusKm: number;
  vehicleType: VehicleType | undefined;
  minRating: number;
}

/**
 * The rider side of the demo: a draggable rider pin, the filters, and the
 * ranked list, a live subscription that the hub pushes whenever it changes.
 * Dragging the pin re-centres it; changing a filter replaces it.
 */
export class RiderPanel {
  private rider: L.LatLng | undefined;
  private readonly pin: L.Marker;
  private readonly area: L.Circle;
  private readonly link: L.Polyline;
  private filters: Filters = { radiusKm: NEARBY_DEFAULT_RADIUS_KM, vehicleType: undefined, minRating: 0 };
  private drivers: NearbyDriver[] = [];
  /** The subscription behind the list, while a rider is on the map. */
  private watchId: string | undefined;
  private updates = 0;

  private readonly list = byId<HTMLOListElement>('result-list');
  private readonly empty = byId('result-empty');
  private readonly notice = byId('result-notice');
  private readonly count = byId('result-count');
  private readonly source = byId('metric-source');
  private readonly serverMs = byId('metric-server');
  private readonly updateCount = byId('metric-updates');
  private readonly riderInfo = byId('rider-info');

  constructor(
    private readonly map: L.Map,
    private readonly fleet: FleetLayer,
    private readonly socket: RiderSocket,
  ) {
    this.pin = L.marker([0, 0], {
      icon: L.divIcon({ className: 'rider-pin', html: '<span></span>', iconSize: [22, 22], iconAnchor: [11, 11] }),
      draggable: true,
      keyboard: false,
      zIndexOffset: 1000,
      title: 'Rider (drag to move)',
    });
    this.area = L.circle([0, 0], { radius: 1, className: 'rider-area', interactive: false });
    this.link = L.polyline([], { className: 'rider-link', interactive: false });

    map.on('click', (event: L.LeafletMouseEvent) => this.placeRider(event.latlng));
    this.pin.on('drag', () => this.moveRider(this.pin.getLatLng(), false));
    this.pin.on('dragend', () => this.moveRider(this.pin.getLatLng(), true));
    fleet.onFrame(() => this.drawLink());

    this.buildFilters();
    byId('rider-clear').addEventListener('click', () => this.clearRider());
    this.list.addEventListener('mouseover', (event) => this.fleet.focus(driverIdAt(event.target)));
    this.list.addEventListener('mouseleave', () => this.fleet.focus(undefined));
    this.list.addEventListener('click', (event) => {
      const id = driverIdAt(event.target);
      const at = id === undefined ? undefined : this.fleet.positionOf(id);
      if (at) this.map.panTo(at);
    });
    socket.onState((state) => this.showNotice(state.kind === 'live' || !this.rider ? undefined : 'Waiting for the hub…'));
    this.render();
  }

  /** Where the rider pin stands; undefined while there is none. */
  get position(): L.LatLng | undefined {
    return this.rider;
  }

  /** Called whenever the rider pin appears, moves or goes. */
  onRiderChange: () => void = () => undefined;

  placeRider(at: L.LatLng): void {
    if (!this.rider) {
      this.pin.addTo(this.map);
      this.area.addTo(this.map);
      this.link.addTo(this.map);
    }
    this.pin.setLatLng(at);
    this.moveRider(at, true);
  }

  private moveRider(at: L.LatLng, ask: boolean): void {
    this.rider = at;
    this.area.setLatLng(at);
    this.area.setRadius(this.filters.radiusKm * 1000);
    this.drawLink();
    this.riderInfo.textContent = `${at.lat.toFixed(5)}, ${at.lng.toFixed(5)}`;
    document.body.classList.add('has-rider');
    this.onRiderChange();
    if (!ask) return;
    if (this.watchId === undefined) this.restart();
    else this.socket.move(this.watchId, at.lat, at.lng);
  }

  private clearRider(): void {
    this.rider = undefined;
    this.stopWatching();
    this.pin.remove();
    this.area.remove();
    this.link.remove();
    this.drivers = [];
    this.fleet.update('rider', []);
    this.fleet.setRanking([]);
    document.body.classList.remove('has-rider');
    this.onRiderChange();
    this.showNotice(undefined);
    this.render();
  }

  /** Replaces the subscription with one for the current rider and filters. */
  private restart(): void {
    const rider = this.rider;
    this.stopWatching();
    if (!rider) return;
    this.watchId = this.socket.watch(
      {
        lat: rider.lat,
        lng: rider.lng,
        radiusKm: this.filters.radiusKm,
        limit: RESULT_LIMIT,
        vehicleType: this.filters.vehicleType,
        minRating: this.filters.minRating > 0 ? this.filters.minRating : undefined,
      },
      { update: (update) => this.show(update), error: (error) => this.showNotice(describeFailure(error)) },
    );
  }

  private stopWatching(): void {
    if (this.watchId !== undefined) this.socket.unwatch(this.watchId);
    this.watchId = undefined;
    this.updates = 0;
  }

  private show(update: NearbyUpdateMessage): void {
    this.showNotice(undefined);
    this.updates += 1;
    this.drivers = update.drivers;
    this.fleet.update('rider', update.drivers);
    this.fleet.setRanking(update.drivers.map((driver) => driver.id));
    this.source.textContent = update.source;
    this.source.dataset.source = update.source;
    this.serverMs.textContent = formatMs(update.ms);
    this.updateCount.textContent = String(this.updates);
    this.drawLink();
    this.render();
  }

  private drawLink(): void {
    const nearest = this.drivers[0];
    const at = nearest && this.fleet.positionOf(nearest.id);
    this.link.setLatLngs(this.rider && at ? [this.rider, at] : []);
  }

  private render(): void {
    const hasRider = this.rider !== undefined;
    this.count.textContent = hasRider ? String(this.drivers.length) : '';
    this.empty.textContent = hasRider ? `No drivers match within ${formatRadius(this.filters.radiusKm)}.` : 'Click anywhere on the map to place a rider.';
    this.empty.hidden = this.drivers.length > 0;
    this.list.innerHTML = this.drivers
      .map((driver, index) => {
        const style = vehicleStyle(driver.vehicleType);
        return `<li class="driver-row" data-driver-id="${driver.id}" data-distance-km="${driver.distanceKm}">
          <span class="rank">${index + 1}</span>
          <span class="who">
            <span class="name">${escapeHtml(driver.name)}</span>
            <span class="vehicle" style="--vehicle:${style.colour}">${escapeHtml(style.label)}</span>
          </span>
          <span class="rating" title="Rating">★ ${driver.rating.toFixed(1)}</span>
          <span class="distance">${formatDistance(driver.distanceKm)}</span>
        </li>`;
      })
      .join('');
  }

  private showNotice(text: string | undefined): void {
    this.notice.hidden = text === undefined;
    this.notice.textContent = text ?? '';
  }

  private buildFilters(): void {
    const radius = byId<HTMLInputElement>('filter-radius');
    const radiusValue = byId('filter-radius-value');
    radius.max = String(RADIUS_STEPS_KM.length - 1);
    radius.value = String(Math.max(0, RADIUS_STEPS_KM.indexOf(this.filters.radiusKm)));
    radiusValue.textContent = formatRadius(this.filters.radiusKm);
    radius.addEventListener('input', () => {
      this.filters.radiusKm = RADIUS_STEPS_KM[Number(radius.value)] ?? NEARBY_DEFAULT_RADIUS_KM;
      radiusValue.textContent = formatRadius(this.filters.radiusKm);
      if (!this.rider) return;
      this.moveRider(this.rider, false);
      this.restart();
    });

    const vehicles = byId('filter-vehicle');
    vehicles.innerHTML = [
      `<button type="button" class="chip is-active" data-vehicle="">Any</button>`,
      ...VEHICLE_TYPES.map(
        (type) =>
          `<button type="button" class="chip" data-vehicle="${type}" style="--vehicle:${VEHICLE_STYLES[type].colour}">` +
          `<i></i>${VEHICLE_STYLES[type].label}</button>`,
      ),
    ].join('');
    vehicles.addEventListener('click', (event) => {
      const chip = (event.target as Element).closest<HTMLButtonElement>('button.chip');
      if (!chip) return;
      const value = chip.dataset.vehicle ?? '';
      this.filters.vehicleType = isVehicleType(value) ? value : undefined;
      for (const other of vehicles.querySelectorAll('button.chip')) other.classList.toggle('is-active', other === chip);
      if (this.rider) this.restart();
    });

    const rating = byId<HTMLSelectElement>('filter-rating');
    rating.innerHTML = MIN_RATINGS.map((value) => `<option value="${value}">${value === 0 ? 'Any rating' : `★ ${value.toFixed(1)} and up`}</option>`).join('');
    rating.addEventListener('change', () => {
      this.filters.minRating = Number(rating.value);
      if (this.rider) this.restart();
    });
  }
}

function describeFailure(error: RequestError): string {
  if (error.code === 'unavailable') return 'The hub cannot search right now; retrying.';
  return `The hub refused the subscription (${error.code}): ${error.message}`;
}

function driverIdAt(target: EventTarget | null): number | undefined {
  const row = target instanceof Element ? target.closest<HTMLElement>('[data-driver-id]') : null;
  return row ? Number(row.dataset.driverId) : undefined;
}
