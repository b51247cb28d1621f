import L from 'leaflet';
import type { NearbyDriver } from '../../src/protocol/messages.ts';
import { escapeHtml } from './dom.ts';
import { vehicleStyle } from './vehicles.ts';

/** Where a batch of positions came from: the view's subscription or the rider's own. */
export type Feed = 'view' | 'rider';

interface Tracked {
  driver: NearbyDriver;
  dot: L.CircleMarker;
  badge: L.Marker | undefined;
  from: L.LatLng;
  to: L.LatLng;
  since: number;
}

/** A little shorter than the closest spacing of updates (SUBSCRIPTION_MAX_HZ, 2 by default), so a driver settles before its next fix arrives. */
const TWEEN_MS = 450;
const RANK_PANE = 'rankPane';

/**
 * Every driver either feed reports, one marker each. Positions glide between
 * fixes instead of jumping, and the rider's ranked drivers carry their rank.
 */
export class FleetLayer {
  private readonly tracked = new Map<number, Tracked>();
  private readonly feeds: Record<Feed, Set<number>> = { view: new Set(), rider: new Set() };
  private ranks = new Map<number, number>();
  private focused: number | undefined;
  private animating = false;
  private readonly group = L.layerGroup();
  private readonly frameListeners = new Set<() => void>();

  constructor(map: L.Map) {
    map.createPane(RANK_PANE).style.zIndex = '640';
    this.group.addTo(map);
  }

  /** Called on every animation frame that moved a marker, to keep attached graphics in step. */
  onFrame(listener: () => void): void {
    this.frameListeners.add(listener);
  }

  positionOf(id: number): L.LatLng | undefined {
    return this.tracked.get(id)?.dot.getLatLng();
  }

  update(feed: Feed, drivers: readonly NearbyDriver[]): void {
    const now = performance.now();
    this.feeds[feed] = new Set(drivers.map((driver) => driver.id));
    for (const driver of drivers) {
      const target = L.latLng(driver.lat, driver.lng);
      const known = this.tracked.get(driver.id);
      if (known) {
        known.driver = driver;
        if (!known.to.equals(target)) {
          known.from = known.dot.getLatLng();
          known.to = target;
          known.since = now;
        }
      } else {
        this.add(driver, target, now);
      }
    }
    for (const [id, entry] of this.tracked) {
      if (!this.feeds.view.has(id) && !this.feeds.rider.has(id)) this.removeEntry(id, entry);
    }
    this.animate();
  }

  /** Marks the rider's ranked drivers, nearest first; an empty list clears the marks. */
  setRanking(ids: readonly number[]): void {
    const previous = this.ranks;
    this.ranks = new Map(ids.map((id, index) => [id, index + 1]));
    for (const id of new Set([...previous.keys(), ...this.ranks.keys()])) this.restyle(id);
  }

  focus(id: number | undefined): void {
    const previous = this.focused;
    this.focused = id;
    if (previous !== undefined) this.restyle(previous);
    if (id !== undefined) this.restyle(id);
  }

  private add(driver: NearbyDriver, at: L.LatLng, now: number): void {
    const dot = L.circleMarker(at, { className: 'driver-dot' });
    const style = vehicleStyle(driver.vehicleType);
    dot.bindTooltip(() => tooltipText(this.tracked.get(driver.id)?.driver ?? driver), {
      direction: 'top',
      offset: [0, -8],
      className: 'driver-tooltip',
    });
    dot.addTo(this.group);
    dot.getElement()?.setAttribute('data-driver-id', String(driver.id));
    dot.getElement()?.setAttribute('data-vehicle', style.label);
    this.tracked.set(driver.id, { driver, dot, badge: undefined, from: at, to: at, since: now });
    this.restyle(driver.id);
  }

  private removeEntry(id: number, entry: Tracked): void {
    entry.dot.remove();
    entry.badge?.remove();
    this.tracked.delete(id);
  }

  private restyle(id: number): void {
    const entry = this.tracked.get(id);
    if (!entry) return;
    const rank = this.ranks.get(id);
    const focused = this.focused === id;
    entry.dot.setStyle({
      radius: focused ? 11 : rank ? 8 : 6,
      color: rank ? '#0f172a' : '#ffffff',
      weight: rank ? 3 : 1.5,
      fillColor: vehicleStyle(entry.driver.vehicleType).colour,
      fillOpacity: rank || focused ? 1 : 0.9,
      opacity: 1,
    });
    if (rank) entry.dot.bringToFront();
    if (!rank) {
      entry.badge?.remove();
      entry.badge = undefined;
      return;
    }
    const icon = L.divIcon({
      className: `rank-badge${focused ? ' rank-badge--focused' : ''}`,
      html: String(rank),
      iconSize: [18, 18],
      // Up and to the right of the dot, so the vehicle colour stays visible.
      iconAnchor: [-3, 21],
    });
    if (entry.badge) entry.badge.setIcon(icon);
    else {
      entry.badge = L.marker(entry.dot.getLatLng(), { icon, pane: RANK_PANE, interactive: false, keyboard: false });
      entry.badge.addTo(this.group);
    }
  }

  private animate(): void {
    if (this.animating) return;
    this.animating = true;
    const step = (now: number) => {
      let moving = false;
      for (const entry of this.tracked.values()) {
        const t = Math.min(1, (now - entry.since) / TWEEN_MS);
        if (t < 1) moving = true;
        const eased = 1 - (1 - t) ** 3;
        const at = L.latLng(entry.from.lat + (entry.to.lat - entry.from.lat) * eased, entry.from.lng + (entry.to.lng - entry.from.lng) * eased);
        if (!at.equals(entry.dot.getLatLng())) {
          entry.dot.setLatLng(at);
          entry.badge?.setLatLng(at);
        }
      }
      for (const listener of this.frameListeners) listener();
      if (moving) requestAnimationFrame(step);
      else this.animating = false;
    };
    requestAnimationFrame(step);
  }
}

function tooltipText(driver: NearbyDriver): string {
  return `<strong>${escapeHtml(driver.name)}</strong><br>${escapeHtml(vehicleStyle(driver.vehicleType).label)} · ★ ${driver.rating.toFixed(1)}`;
}
