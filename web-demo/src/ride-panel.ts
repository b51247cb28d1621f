import L from 'leaflet';
import { haversineKm, type LatLng } from '../../src/domain/geo.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { RiderRide, type RiderRideState } from '../../clients/core/rider-ride.ts';
import { byId, escapeHtml, formatDistance } from './dom.ts';
import type { RiderSocket } from './rider-socket.ts';
import { vehicleStyle } from './vehicles.ts';

/** A car seen from the side, drawn inline: no image to fetch, no emoji font to rely on. */
const CAR_SVG =
  '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" d="M5 11l1.5-4.5A2 2 0 0 1 8.4 5h7.2a2 2 0 0 1 1.9 1.5L19 11v6a1 1 0 0 1-1 1h-1a1 1 0 0 1-1-1v-1H8v1a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-6zm2.2-1h9.6l-1-3H8.2l-1 3zM7.5 14a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3zm9 0a1.5 1.5 0 1 0 0-3 1.5 1.5 0 0 0 0 3z"/></svg>';

/** Matches the fleet layer's glide, so the assigned car moves like every other dot. */
const TWEEN_MS = 450;

/**
 * Asking for a ride from the map: the rider pin is the pickup. Once a driver
 * accepts, its car is drawn from the hub's `ride.driver` pushes (a busy
 * driver leaves every nearby list, so the fleet layer no longer shows it)
 * with a line to the pickup, and the panel follows the ride to its end.
 */
export class RidePanel {
  private readonly ride = new RiderRide('web-ride');
  private readonly car: L.Marker;
  private readonly route: L.Polyline;
  private readonly pickupFlag: L.Marker;
  private readonly status = byId('ride-status');
  private readonly detail = byId('ride-detail');
  private readonly requestButton = byId<HTMLButtonElement>('ride-request');
  private readonly cancelButton = byId<HTMLButtonElement>('ride-cancel');
  private readonly againButton = byId<HTMLButtonElement>('ride-again');
  private glide: { from: L.LatLng; to: L.LatLng; since: number } | undefined;

  constructor(
    private readonly map: L.Map,
    private readonly socket: RiderSocket,
    /** Where the rider pin stands, if it is on the map. */
    private readonly pickup: () => LatLng | undefined,
  ) {
    this.car = L.marker([0, 0], {
      icon: L.divIcon({ className: 'ride-car', html: `<span>${CAR_SVG}</span>`, iconSize: [30, 30], iconAnchor: [15, 15] }),
      keyboard: false,
      interactive: false,
      zIndexOffset: 2000,
    });
    this.route = L.polyline([], { className: 'ride-route', interactive: false });
    this.pickupFlag = L.marker([0, 0], {
      icon: L.divIcon({ className: 'ride-pickup', html: '<span></span>', iconSize: [16, 16], iconAnchor: [8, 8] }),
      keyboard: false,
      interactive: false,
    });
    this.requestButton.addEventListener('click', () => this.request());
    this.cancelButton.addEventListener('click', () => this.cancel());
    this.againButton.addEventListener('click', () => {
      this.ride.dismiss();
      this.render();
    });
    socket.onRideMessage((message) => this.handle(message));
    this.render();
  }

  /** Called when the rider pin moves or appears: a ride can be asked for once it is on the map. */
  riderMoved(): void {
    this.render();
  }

  private request(): void {
    const at = this.pickup();
    if (!at) return;
    const message = this.ride.request({ lat: at.lat, lng: at.lng });
    if (!message) return;
    if (!this.socket.sendRide(message)) {
      // Not connected: nothing went out, so nothing is pending.
      this.ride.handle({ t: 'error', code: 'unavailable', message: 'not connected to the hub', id: message.id });
    }
    this.render();
  }

  private cancel(): void {
    const message = this.ride.cancel('cancelled from the map');
    if (message) this.socket.sendRide(message);
  }

  private handle(message: ServerMessage): void {
    if (this.ride.handle(message)) this.render();
  }

  private render(): void {
    const state = this.ride.state;
    document.body.dataset.ride = state.phase === 'open' ? state.status : state.phase === 'ended' ? state.outcome : state.phase;
    if (state.phase === 'open' || state.phase === 'ended') document.body.dataset.rideId = state.rideId;
    this.requestButton.hidden = state.phase !== 'idle';
    this.requestButton.disabled = this.pickup() === undefined;
    this.cancelButton.hidden = !(state.phase === 'open' && state.status !== 'started');
    this.againButton.hidden = state.phase !== 'ended' && state.phase !== 'refused';
    const { title, detail } = describe(state, this.pickup() !== undefined);
    this.status.textContent = title;
    this.detail.innerHTML = detail;
    this.draw(state);
  }

  private draw(state: RiderRideState): void {
    const open = state.phase === 'open' ? state : undefined;
    if (open) this.pickupFlag.setLatLng(open.pickup).addTo(this.map);
    else this.pickupFlag.remove();
    const driverAt = open?.driverAt;
    if (!open || !driverAt || open.status === 'started') {
      this.car.remove();
      this.route.remove();
      this.glide = undefined;
      return;
    }
    const target = L.latLng(driverAt.lat, driverAt.lng);
    if (!this.map.hasLayer(this.car)) {
      this.car.setLatLng(target).addTo(this.map);
      this.route.addTo(this.map);
    } else if (!this.car.getLatLng().equals(target)) {
      this.glide = { from: this.car.getLatLng(), to: target, since: performance.now() };
      requestAnimationFrame(() => this.animate());
    }
    this.route.setLatLngs([this.car.getLatLng(), open.pickup]);
    this.car.getElement()?.setAttribute('data-status', open.status);
  }

  private animate(): void {
    const glide = this.glide;
    if (!glide) return;
    const t = Math.min(1, (performance.now() - glide.since) / TWEEN_MS);
    const at = L.latLng(glide.from.lat + (glide.to.lat - glide.from.lat) * t, glide.from.lng + (glide.to.lng - glide.from.lng) * t);
    this.car.setLatLng(at);
    const state = this.ride.state;
    if (state.phase === 'open') this.route.setLatLngs([at, state.pickup]);
    if (t < 1) requestAnimationFrame(() => this.animate());
    else this.glide = undefined;
  }
}

function describe(state: RiderRideState, hasRider: boolean): { title: string; detail: string } {
  switch (state.phase) {
    case 'idle':
      return {
        title: hasRider ? 'Ready to ride' : 'Place the rider first',
        detail: hasRider ? 'The pin is the pickup.' : 'Click the map, then ask for a ride.',
      };
    case 'asking':
      return { title: 'Asking the hub…', detail: '' };
    case 'refused':
      return { title: 'The hub refused the request', detail: escapeHtml(`${state.code}: ${state.message}`) };
    case 'ended':
      if (state.outcome === 'completed') return { title: 'You have arrived', detail: 'Thanks for riding.' };
      if (state.outcome === 'unmatched') return { title: 'No driver accepted', detail: 'Every nearby driver was asked; try again in a moment.' };
      return { title: state.by === 'driver' ? 'The driver cancelled' : 'Ride cancelled', detail: escapeHtml(state.reason ?? '') };
    case 'open':
      break;
  }
  if (state.status === 'requested' || !state.driver)
    return { title: 'Finding you a driver…', detail: 'Offers go to the nearest free drivers, a few at a time.' };
  const driver = state.driver;
  const style = vehicleStyle(driver.vehicleType);
  const who = `<strong>${escapeHtml(driver.name)}</strong> · <span class="vehicle" style="--vehicle:${style.colour}">${escapeHtml(style.label)}</span> · ★ ${driver.rating.toFixed(1)}`;
  if (state.status === 'arrived') return { title: 'Your driver is here', detail: who };
  if (state.status === 'started') return { title: 'On your way', detail: who };
  const away = state.driverAt ? haversineKm(state.driverAt.lat, state.driverAt.lng, state.pickup.lat, state.pickup.lng) : undefined;
  return { title: away === undefined ? 'Your driver is coming' : `Your driver is ${formatDistance(away)} away`, detail: who };
}
