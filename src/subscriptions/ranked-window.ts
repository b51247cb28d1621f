import { compareRanked } from '../protocol/ranking.ts';
import { haversineKm } from '../domain/geo.ts';
import type { NearbyDriver } from '../protocol/messages.ts';

/** What ranks a driver: distance, then rating, then id (the order of every nearby answer). */
export interface RankKey {
  distanceKm: number;
  rating: number;
  id: number;
}

export interface DriverLooks {
  name: string;
  vehicleType: string;
  rating: number;
}

/** Told which drivers a window lists, so a registry can find the windows a driver's move concerns. */
export interface Membership {
  listed(driverId: number): void;
  unlisted(driverId: number): void;
}

/** The drivers a rider was last sent, in order, with the positions it saw. */
export interface SentList {
  ids: number[];
  lats: number[];
  lngs: number[];
}

/** The outcome of one change, as bit flags. */
export const UNCHANGED = 0;
/** The first `limit` entries (what the rider sees) changed in some way. */
export const TOP_CHANGED = 1;
/** The window can no longer tell its first `limit` entries apart from drivers it does not hold: search again. */
export const NEEDS_SEARCH = 2;

/**
 * One subscription's ranked drivers, kept up to date from committed moves
 * without searching again.
 *
 * It holds up to `capacity` drivers (more than the `limit` the rider sees)
 * and a boundary: every eligible driver it does not hold ranks after the
 * boundary, or, with no boundary, it holds every eligible driver within the
 * radius. So a driver that moves in front of the boundary enters, one that
 * moves behind it leaves, and the list stays exact; only when departures
 * leave fewer than `limit` drivers in front of a boundary is a new search
 * needed. The extra capacity is what makes that rare: drivers crossing the
 * boundary both ways keep the count near `capacity`.
 */
export class RankedWindow {
  private entries: NearbyDriver[] = [];
  private boundary: RankKey | null = null;
  private readonly probe: RankKey = { distanceKm: 0, rating: 0, id: 0 };

  constructor(
    readonly limit: number,
    readonly capacity: number,
    private readonly membership: Membership,
  ) {}

  /** The drivers the rider sees, ranked; the array is the window's own, valid until the next change. */
  get visible(): readonly NearbyDriver[] {
    return this.entries.length <= this.limit ? this.entries : this.entries.slice(0, this.limit);
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Whether what the rider sees differs from what it was last sent: another
   * set or order of drivers, or a driver more than `thresholdKm` from where
   * the rider last saw it.
   */
  differsFrom(sent: SentList, thresholdKm: number): boolean {
    const count = Math.min(this.limit, this.entries.length);
    if (count !== sent.ids.length) return true;
    for (let i = 0; i < count; i++) {
      const entry = this.entries[i] as NearbyDriver;
      if (entry.id !== sent.ids[i]) return true;
      if (haversineKm(entry.lat, entry.lng, sent.lats[i] as number, sent.lngs[i] as number) > thresholdKm) return true;
    }
    return false;
  }

  /** Records what the rider sees now as sent, reusing the record's arrays. */
  recordSent(sent: SentList): void {
    const count = Math.min(this.limit, this.entries.length);
    sent.ids.length = sent.lats.length = sent.lngs.length = count;
    for (let i = 0; i < count; i++) {
      const entry = this.entries[i] as NearbyDriver;
      sent.ids[i] = entry.id;
      sent.lats[i] = entry.lat;
      sent.lngs[i] = entry.lng;
    }
  }

  /** Beyond this distance no change can enter the window (without a boundary: the subscription's radius). */
  reachKm(radiusKm: number): number {
    return this.boundary ? this.boundary.distanceKm : radiusKm;
  }

  /** Replaces the contents with a fresh search answer, ranked and at most `capacity` long. */
  reset(ranked: readonly NearbyDriver[]): void {
    this.clear();
    this.entries = ranked.slice(0, this.capacity);
    for (const entry of this.entries) this.membership.listed(entry.id);
    this.boundary = ranked.length >= this.capacity ? (this.entries[this.capacity - 1] as NearbyDriver) : null;
    // The boundary driver itself stays listed: anything unlisted ranks after it.
    if (this.boundary) this.boundary = { distanceKm: this.boundary.distanceKm, rating: this.boundary.rating, id: this.boundary.id };
  }

  clear(): void {
    for (const entry of this.entries) this.membership.unlisted(entry.id);
    this.entries = [];
    this.boundary = null;
  }

  /** An eligible driver (right status, filters, inside the radius) is now at this position and distance. */
  place(id: number, lat: number, lng: number, distanceKm: number, looks: DriverLooks): number {
    const probe = this.probe;
    probe.distanceKm = distanceKm;
    probe.rating = looks.rating;
    probe.id = id;
    const behindBoundary = this.boundary !== null && compareRanked(probe, this.boundary) >= 0;
    const index = this.indexOf(id);
    if (index >= 0) {
      if (behindBoundary) return this.removeAt(index);
      const entry = this.entries[index] as NearbyDriver;
      entry.lat = lat;
      entry.lng = lng;
      entry.distanceKm = distanceKm;
      const moved = this.reposition(index);
      return index < this.limit || moved < this.limit ? TOP_CHANGED : UNCHANGED;
    }
    if (behindBoundary) return UNCHANGED;
    const entry: NearbyDriver = { id, name: looks.name, vehicleType: looks.vehicleType, rating: looks.rating, lat, lng, distanceKm };
    const at = this.insertionPoint(entry);
    this.entries.splice(at, 0, entry);
    this.membership.listed(id);
    if (this.entries.length > this.capacity) {
      const dropped = this.entries.pop() as NearbyDriver;
      this.membership.unlisted(dropped.id);
      this.boundary = dropped;
    }
    return at < this.limit ? TOP_CHANGED : UNCHANGED;
  }

  /** The driver is no longer eligible (offline, busy, stale, filtered out or outside the radius). */
  remove(id: number): number {
    const index = this.indexOf(id);
    return index < 0 ? UNCHANGED : this.removeAt(index);
  }

  private removeAt(index: number): number {
    const [removed] = this.entries.splice(index, 1);
    this.membership.unlisted((removed as NearbyDriver).id);
    let outcome = index < this.limit ? TOP_CHANGED : UNCHANGED;
    if (this.boundary !== null && this.entries.length < this.limit) outcome |= NEEDS_SEARCH;
    return outcome;
  }

  private indexOf(id: number): number {
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) if ((entries[i] as NearbyDriver).id === id) return i;
    return -1;
  }

  /** Moves the entry at `index` to its ranked place among otherwise sorted entries; returns the new index. */
  private reposition(index: number): number {
    const entries = this.entries;
    const entry = entries[index] as NearbyDriver;
    let at = index;
    while (at > 0 && compareRanked(entry, entries[at - 1] as NearbyDriver) < 0) {
      entries[at] = entries[at - 1] as NearbyDriver;
      at--;
    }
    while (at < entries.length - 1 && compareRanked(entry, entries[at + 1] as NearbyDriver) > 0) {
      entries[at] = entries[at + 1] as NearbyDriver;
      at++;
    }
    entries[at] = entry;
    return at;
  }

  private insertionPoint(entry: NearbyDriver): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (compareRanked(this.entries[middle] as NearbyDriver, entry) < 0) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}
