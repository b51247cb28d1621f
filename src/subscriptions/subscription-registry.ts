import type { Logger } from '../logger.ts';
import type { NearbyCriteria } from '../nearby/nearby-service.ts';
import { HubError } from '../protocol/errors.ts';
import { haversineKm } from '../domain/geo.ts';
import type { NearbySource } from '../protocol/messages.ts';
import type { SubscribeMessage, SubscribeMoveMessage, SubscriptionId } from '../protocol/subscription-messages.ts';
import type { DriverProfile, DriverStatus } from '../domain/driver.ts';
import { CellIndex, type CellCover } from './cell-index.ts';
import { LastSeen } from './last-seen.ts';
import { NEEDS_SEARCH, RankedWindow, TOP_CHANGED, type SentList } from './ranked-window.ts';
import type { CommittedPositions } from '../ingest/committed-positions.ts';
import type { DriverChange, NearbyFinder, ProfileLookup, Subscriber, SubscriptionObserver, WatchedAreas } from './types.ts';

/** How long a subscription waits before searching again after a failed search. */
const SEARCH_RETRY_MS = 1000;
/**
 * How long a subscription waits before searching again when a search answer
 * disagreed with a change committed before it (the index had not caught up):
 * long enough for the index write, short enough that the rider sees no gap.
 */
const INDEX_CATCH_UP_MS = 100;
/** Watched cells are re-drawn when the window's reach has shrunk below this share of the circle they were drawn for. */
const REINDEX_SHRINK = 0.5;

export interface SubscriptionRegistryOptions {
  nearby: NearbyFinder;
  profiles: ProfileLookup;
  logger: Logger;
  observer?: SubscriptionObserver;
  /** Told where subscriptions look, when changes committed by other hub processes must reach them. */
  areas?: WatchedAreas;
  /** A listed driver that moved farther than this from where the rider saw it is worth an update. */
  moveThresholdMeters: number;
  /** At most this many updates per second per subscription. */
  maxHz: number;
  /** Open subscriptions per quota key. */
  perRider: number;
  /** A driver silent this long leaves every list (STALE_AFTER_MS, as for nearby). */
  staleAfterMs: number;
}

/** For each listed driver, the subscriptions whose window holds it. */
class Listings {
  private readonly byDriver = new Map<number, Subscription[]>();

  get(driverId: number): Subscription[] | undefined {
    return this.byDriver.get(driverId);
  }

  add(driverId: number, sub: Subscription): void {
    const listing = this.byDriver.get(driverId);
    if (listing) listing.push(sub);
    else this.byDriver.set(driverId, [sub]);
  }

  /** Swap-removal: the last subscription takes the removed one's place. */
  remove(driverId: number, sub: Subscription): void {
    const listing = this.byDriver.get(driverId);
    if (!listing) return;
    const index = listing.indexOf(sub);
    if (index < 0) return;
    const last = listing.pop() as Subscription;
    if (index < listing.length) listing[index] = last;
    if (listing.length === 0) this.byDriver.delete(driverId);
  }
}

class Subscription {
  readonly window: RankedWindow;
  /** Where the latest search answer came from. */
  source: NearbySource = 'memory';
  /** What the rider was last sent. */
  readonly sent: SentList = { ids: [], lats: [], lngs: [] };
  /** performance.now() of the last update sent. */
  lastSentAt = Number.NEGATIVE_INFINITY;
  /** performance.now() of the first change not yet sent, when one is pending. */
  changedAt: number | undefined = performance.now();
  /** Send the next update even if the list looks the same (the first answer, the answer to a move). */
  owed = true;
  /** Waiting for the connection to drain before sending. */
  blocked = false;
  /** Sends a coalesced update once the rate allows it. */
  sendTimer: NodeJS.Timeout | undefined;
  /** The pending update had to wait for the rate limit (or a full connection). */
  waited = false;
  /** Searches again after a failed search. */
  retryTimer: NodeJS.Timeout | undefined;
  /** Bumped by every search started, so a stale answer (the rider moved meanwhile) is dropped. */
  generation = 0;
  /** While a search runs: the latest change of each driver that concerned it, applied on top of the answer. */
  heldChanges: Map<number, DriverChange> | undefined;
  /** The cells it is watched in, and for what reach. */
  cover: CellCover | undefined;
  coveredKm = 0;
  /** Its circle as registered with the watched areas (other processes' changes there reach it). */
  area: unknown;
  /** The change being applied when it was last visited: each change reaches a subscription once. */
  visitedBy = 0;
  /** Queued to be flushed at the end of the current batch. */
  queued = false;
  closed = false;

  constructor(
    readonly id: SubscriptionId,
    readonly subscriber: Subscriber,
    public criteria: NearbyCriteria,
    listings: Listings,
  ) {
    this.window = new RankedWindow(criteria.limit, capacityFor(criteria.limit), {
      listed: (driverId) => listings.add(driverId, this),
      unlisted: (driverId) => listings.remove(driverId, this),
    });
  }
}

/**
 * Live nearby: rider subscriptions kept up to date from committed driver
 * changes.
 *
 * Work follows movement, not subscriptions × drivers. Subscriptions are
 * indexed by the grid cells of the circle a change could enter them through,
 * and by the drivers they list; a committed change visits only those, and
 * each visit is a distance and a comparison against an in-process ranked
 * window (see RankedWindow). A new search (the same NearbyService as
 * `nearby`, so its answers and its SQL fallback are the same) runs only on
 * subscribe, on move, and when departures empty a window.
 *
 * Updates are coalesced per subscription to `maxHz` and sent only when what
 * the rider sees changed: a driver entered or left, the order changed, or a
 * listed driver moved more than the threshold.
 *
 * Times use the global `performance`, not node:perf_hooks' export, so that
 * tests' fake timers drive them.
 */
export class SubscriptionRegistry {
  private readonly bySubscriber = new Map<Subscriber, Map<SubscriptionId, Subscription>>();
  private readonly perQuota = new Map<string, number>();
  private readonly cells = new CellIndex<Subscription>();
  private readonly listings = new Listings();
  private readonly lastSeen = new LastSeen();
  private readonly minIntervalMs: number;
  private readonly thresholdKm: number;
  private readonly staleTimer: NodeJS.Timeout;
  private openCount = 0;
  /** Numbers each change applied, so a subscription reached twice by one change applies it once. */
  private changeCounter = 0;
  /** The change being applied, its driver's profile, the batch's start and its visit count: state of apply(), read by visit. */
  private readonly current: DriverChange = { id: 0, status: 'offline', lat: Number.NaN, lng: Number.NaN, seenAtMs: 0 };
  private currentProfile: DriverProfile | undefined;
  private batchStartedAt = 0;
  private visits = 0;
  /** Subscriptions touched by the batch being applied, flushed when it is done. */
  private readonly touched: Subscription[] = [];

  constructor(private readonly options: SubscriptionRegistryOptions) {
    this.minIntervalMs = 1000 / options.maxHz;
    this.thresholdKm = options.moveThresholdMeters / 1000;
    // Stale drivers leave lists within a tenth of the stale window (at most a second) of going stale.
    this.staleTimer = setInterval(() => this.expireStale(), Math.min(1000, Math.ceil(options.staleAfterMs / 10)));
    this.staleTimer.unref();
  }

  get size(): number {
    return this.openCount;
  }

  /** Opens a subscription; its first update follows once the first search answers. */
  subscribe(subscriber: Subscriber, request: SubscribeMessage): void {
    const own = this.bySubscriber.get(subscriber);
    if (own?.has(request.id)) throw new HubError('subscription_exists', `subscription "${String(request.id)}" is already open on this connection`);
    const used = this.perQuota.get(subscriber.quotaKey) ?? 0;
    if (used >= this.options.perRider) {
      throw new HubError('subscription_limit', `at most ${this.options.perRider} open subscriptions per rider; unsubscribe one first`);
    }
    const { t: _type, id, ...criteria } = request;
    const sub = new Subscription(id, subscriber, criteria, this.listings);
    if (own) own.set(id, sub);
    else this.bySubscriber.set(subscriber, new Map([[id, sub]]));
    this.perQuota.set(subscriber.quotaKey, used + 1);
    this.openCount++;
    this.options.observer?.open(this.openCount);
    sub.area = this.options.areas?.watch(criteria.lat, criteria.lng, criteria.radiusKm);
    this.search(sub, true);
  }

  /** Re-centres a subscription: a new search, answered with an update even if the list is the same. */
  move(subscriber: Subscriber, request: SubscribeMoveMessage): void {
    const sub = this.find(subscriber, request.id);
    sub.criteria = { ...sub.criteria, lat: request.lat, lng: request.lng };
    if (this.options.areas) {
      const previous = sub.area;
      sub.area = this.options.areas.watch(request.lat, request.lng, sub.criteria.radiusKm);
      this.options.areas.unwatch(previous);
    }
    sub.owed = true;
    sub.changedAt ??= performance.now();
    this.search(sub, false);
  }

  unsubscribe(subscriber: Subscriber, id: SubscriptionId): void {
    this.close(this.find(subscriber, id));
  }

  /** The connection closed: all its subscriptions end. */
  disconnect(subscriber: Subscriber): void {
    const own = this.bySubscriber.get(subscriber);
    if (!own) return;
    for (const sub of own.values()) this.close(sub);
  }

  /** The connection can take updates again: send the newest state of each subscription that waited. */
  drained(subscriber: Subscriber): void {
    const own = this.bySubscriber.get(subscriber);
    if (!own) return;
    for (const sub of own.values()) {
      if (!sub.blocked) continue;
      sub.blocked = false;
      this.flush(sub);
    }
  }

  /**
   * Applies committed driver changes (call after the geo index holds them,
   * so a search they trigger sees them). Each change visits only the
   * subscriptions listing the driver and those watching the cell it is in now.
   */
  apply(committed: CommittedPositions): void {
    this.visits = 0;
    this.batchStartedAt = performance.now();
    const change = this.current;
    for (let i = 0; i < committed.ids.length; i++) {
      change.id = committed.ids[i] as number;
      change.status = committed.statuses[i] as DriverChange['status'];
      change.lat = committed.lats[i] as number;
      change.lng = committed.lngs[i] as number;
      change.seenAtMs = committed.seenAtMs[i] as number;
      const online = isOnline(change);
      if (online) this.lastSeen.saw(change.id, change.seenAtMs);
      else this.lastSeen.forget(change.id);
      this.currentProfile = online ? this.options.profiles.get(change.id) : undefined;
      this.changeCounter++;
      const listing = this.listings.get(change.id);
      // Backwards: applying the change may swap-remove the subscription from
      // this very array, which moves an already visited one into its place.
      if (listing) for (let i = listing.length - 1; i >= 0; i--) if (i < listing.length) this.visit(listing[i] as Subscription);
      if (online) this.cells.forEachAt(change.lat, change.lng, this.visit);
    }
    this.currentProfile = undefined;
    this.options.observer?.visited(this.visits);
    this.flushTouched();
  }

  /** Applies the change being processed to one subscription, once. Bound once, so a batch allocates no closures. */
  private readonly visit = (sub: Subscription): void => {
    if (sub.visitedBy === this.changeCounter) return;
    sub.visitedBy = this.changeCounter;
    this.visits++;
    this.applyTo(sub, this.current, this.currentProfile, this.batchStartedAt);
  };

  /**
   * A status set outside the location stream: dispatch marked the driver
   * busy (or online again when its ride ended). Busy, it leaves every list at
   * once; online again, it comes back with its next committed position, like
   * a driver that has just connected.
   */
  driverStatusChanged(driverId: number, status: DriverStatus): void {
    if (status === 'online') return;
    this.lastSeen.forget(driverId);
    const listing = this.listings.get(driverId);
    if (!listing) return;
    const change: DriverChange = { id: driverId, status, lat: Number.NaN, lng: Number.NaN, seenAtMs: Date.now() };
    const now = performance.now();
    for (let i = listing.length - 1; i >= 0; i--) if (i < listing.length) this.applyTo(listing[i] as Subscription, change, undefined, now);
    this.flushTouched();
  }

  /** Ends every subscription and its timers (hub shutdown). */
  stop(): void {
    clearInterval(this.staleTimer);
    for (const own of [...this.bySubscriber.values()]) for (const sub of own.values()) this.close(sub);
  }

  private find(subscriber: Subscriber, id: SubscriptionId): Subscription {
    const sub = this.bySubscriber.get(subscriber)?.get(id);
    if (!sub) throw new HubError('not_found', `no open subscription "${String(id)}" on this connection`);
    return sub;
  }

  private applyTo(sub: Subscription, change: DriverChange, profile: DriverProfile | undefined, now: number, replaying = false): void {
    // Held as a copy: the change being applied is one reused record.
    if (sub.heldChanges) {
      sub.heldChanges.set(change.id, { ...change });
      return;
    }
    const outcome = this.place(sub, change, profile);
    if (outcome & NEEDS_SEARCH) {
      sub.changedAt ??= now;
      if (replaying) {
        this.searchLater(sub, INDEX_CATCH_UP_MS);
        return;
      }
      this.search(sub, false);
      // Applied again on top of the answer, which may predate it.
      (sub.heldChanges as Map<number, DriverChange> | undefined)?.set(change.id, { ...change });
      return;
    }
    if (outcome & TOP_CHANGED) {
      sub.changedAt ??= now;
      if (!sub.queued) {
        sub.queued = true;
        this.touched.push(sub);
      }
    }
  }

  /** One change against one window: the driver takes its new rank, or leaves if no longer eligible. */
  private place(sub: Subscription, change: DriverChange, profile: DriverProfile | undefined): number {
    const { criteria, window } = sub;
    if (!isOnline(change)) return window.remove(change.id);
    const distanceKm = haversineKm(criteria.lat, criteria.lng, change.lat, change.lng);
    if (distanceKm > criteria.radiusKm) return window.remove(change.id);
    // Not known yet (created by another writer since the last profile refresh): a search loads it.
    if (!profile) return distanceKm <= window.reachKm(criteria.radiusKm) ? NEEDS_SEARCH : window.remove(change.id);
    if (criteria.vehicleType && profile.vehicleType !== criteria.vehicleType) return window.remove(change.id);
    if (criteria.minRating !== undefined && profile.rating < criteria.minRating) return window.remove(change.id);
    const outcome = window.place(change.id, change.lat, change.lng, distanceKm, profile);
    this.narrowCover(sub);
    return outcome;
  }

  private flushTouched(): void {
    const touched = this.touched;
    for (let i = 0; i < touched.length; i++) {
      const sub = touched[i] as Subscription;
      sub.queued = false;
      this.flush(sub);
    }
    touched.length = 0;
  }

  /** Sends an update if the rider's view changed, as soon as the rate allows; otherwise forgets the change. */
  private flush(sub: Subscription): void {
    if (sub.closed || sub.heldChanges || sub.blocked) return;
    if (!sub.owed && !sub.window.differsFrom(sub.sent, this.thresholdKm)) {
      sub.changedAt = undefined;
      return;
    }
    const now = performance.now();
    const dueAt = sub.lastSentAt + this.minIntervalMs;
    if (now < dueAt) {
      sub.waited = true;
      sub.sendTimer ??= setTimeout(
        () => {
          sub.sendTimer = undefined;
          this.flush(sub);
        },
        Math.ceil(dueAt - now),
      );
      return;
    }
    const changedAt = sub.changedAt ?? now;
    const delayMs = now - changedAt;
    const sentNow = sub.subscriber.push({
      t: 'nearby.update',
      id: sub.id,
      // Copies: the window keeps updating its own entries after this returns.
      drivers: sub.window.visible.map((driver) => ({ ...driver })),
      source: sub.source,
      ms: Math.round(delayMs * 100) / 100,
    });
    if (!sentNow) {
      sub.blocked = true;
      sub.waited = true;
      return;
    }
    sub.window.recordSent(sub.sent);
    sub.lastSentAt = now;
    sub.changedAt = undefined;
    sub.owed = false;
    this.options.observer?.pushed(delayMs, sub.waited);
    sub.waited = false;
  }

  /**
   * Searches afresh. Until the answer arrives, the subscription is watched
   * over its whole radius and the changes that concern it are held, then
   * applied on top of the answer (which may predate them).
   */
  private search(sub: Subscription, first: boolean): void {
    clearTimeout(sub.retryTimer);
    sub.retryTimer = undefined;
    const generation = ++sub.generation;
    sub.heldChanges = new Map();
    this.watch(sub, sub.criteria.radiusKm);
    const criteria = { ...sub.criteria, limit: sub.window.capacity };
    this.options.nearby.find(criteria).then(
      (answer) => {
        if (sub.closed || generation !== sub.generation) return;
        this.options.observer?.searched(answer.source);
        const held = sub.heldChanges as Map<number, DriverChange>;
        sub.heldChanges = undefined;
        sub.source = answer.source;
        sub.window.reset(answer.drivers);
        const adoptedAt = Date.now();
        for (const driver of answer.drivers) this.lastSeen.adopt(driver.id, adoptedAt);
        const now = performance.now();
        for (const change of held.values()) this.applyTo(sub, change, change.status === 'online' ? this.options.profiles.get(change.id) : undefined, now, true);
        // The answer disagreed with a held change: the next search, shortly, will be sent instead.
        if (sub.retryTimer) return;
        this.watch(sub, sub.window.reachKm(sub.criteria.radiusKm));
        this.flushTouched();
        this.flush(sub);
      },
      (error: unknown) => {
        if (sub.closed || generation !== sub.generation) return;
        this.options.observer?.searched('failed');
        if (first) {
          this.options.logger.warn({ err: error }, 'subscription search failed; subscription ended');
          this.close(sub);
          sub.subscriber.fail({ t: 'error', code: 'unavailable', message: 'nearby search is unavailable right now; subscribe again shortly', id: sub.id });
          return;
        }
        this.options.logger.warn({ err: error, retryInMs: SEARCH_RETRY_MS }, 'subscription search failed; retrying');
        this.searchLater(sub, SEARCH_RETRY_MS);
      },
    );
  }

  /** Searches again after a delay, unless the subscription ends or searches for another reason (a move) meanwhile. */
  private searchLater(sub: Subscription, delayMs: number): void {
    const generation = sub.generation;
    clearTimeout(sub.retryTimer);
    sub.retryTimer = setTimeout(() => {
      sub.retryTimer = undefined;
      if (!sub.closed && generation === sub.generation) this.search(sub, false);
    }, delayMs);
  }

  /** (Re)registers the subscription for the cells of a circle of `reachKm` around its centre. */
  private watch(sub: Subscription, reachKm: number): void {
    if (sub.cover) this.cells.remove(sub, sub.cover);
    sub.cover = this.cells.add(sub, sub.criteria.lat, sub.criteria.lng, reachKm);
    sub.coveredKm = reachKm;
  }

  /** Entries can only ever narrow a window's reach; once it has halved, fewer cells will do. */
  private narrowCover(sub: Subscription): void {
    const reachKm = sub.window.reachKm(sub.criteria.radiusKm);
    if (reachKm < sub.coveredKm * REINDEX_SHRINK) this.watch(sub, reachKm);
  }

  private expireStale(): void {
    const expired = this.lastSeen.expire(Date.now() - this.options.staleAfterMs);
    if (expired.length === 0) return;
    const now = performance.now();
    for (const driverId of expired) {
      const listing = this.listings.get(driverId);
      if (!listing) continue;
      const gone: DriverChange = { id: driverId, status: 'offline', lat: Number.NaN, lng: Number.NaN, seenAtMs: 0 };
      for (let i = listing.length - 1; i >= 0; i--) if (i < listing.length) this.applyTo(listing[i] as Subscription, gone, undefined, now);
    }
    this.flushTouched();
  }

  private close(sub: Subscription): void {
    if (sub.closed) return;
    sub.closed = true;
    clearTimeout(sub.sendTimer);
    clearTimeout(sub.retryTimer);
    sub.heldChanges = undefined;
    sub.window.clear();
    if (sub.cover) this.cells.remove(sub, sub.cover);
    sub.cover = undefined;
    this.options.areas?.unwatch(sub.area);
    const own = this.bySubscriber.get(sub.subscriber);
    own?.delete(sub.id);
    if (own?.size === 0) this.bySubscriber.delete(sub.subscriber);
    const used = (this.perQuota.get(sub.subscriber.quotaKey) ?? 1) - 1;
    if (used > 0) this.perQuota.set(sub.subscriber.quotaKey, used);
    else this.perQuota.delete(sub.subscriber.quotaKey);
    this.openCount--;
    this.options.observer?.open(this.openCount);
  }
}

/** Searchable: online, with a position. */
function isOnline(change: DriverChange): boolean {
  return change.status === 'online' && !Number.isNaN(change.lat) && !Number.isNaN(change.lng);
}

/**
 * Drivers a window holds beyond what the rider sees: twice the limit (at
 * least five more), so that a window searches again only after many net
 * departures rather than whenever its last driver drifts outward.
 */
function capacityFor(limit: number): number {
  return limit + Math.max(5, limit);
}
