import type { NearbyAnswer, NearbyCriteria } from '../nearby/nearby-service.ts';
import type { ErrorMessage, NearbySource } from '../protocol/messages.ts';
import type { NearbyUpdateMessage } from '../protocol/subscription-messages.ts';
import type { DriverProfile, DriverStatus } from '../domain/driver.ts';

/** One driver's state after a committed change (a position batch, a status frame, dispatch marking it busy). */
export interface DriverChange {
  id: number;
  status: DriverStatus;
  /** NaN for a driver that has never sent a position. */
  lat: number;
  lng: number;
  /** Last seen, as the database recorded it. */
  seenAtMs: number;
}

/** The nearby search the subscriptions start from: the same answers as `nearby`, with its SQL fallback. */
export interface NearbyFinder {
  find(criteria: NearbyCriteria): Promise<NearbyAnswer>;
}

export interface ProfileLookup {
  get(driverId: number): DriverProfile | undefined;
}

/** One rider connection as the registry sees it; the transport implements it. */
export interface Subscriber {
  /** Subscriptions are counted against this key: the verified rider, or the connection itself. */
  readonly quotaKey: string;
  /**
   * Sends an update; false when the connection cannot take it now (its
   * outbound buffer is full). The registry then sends the newest state once
   * the transport reports the connection drained, never a queue of old ones.
   */
  push(update: NearbyUpdateMessage): boolean;
  /** Ends a subscription with an error (its first search failed). */
  fail(error: ErrorMessage): void;
}

/** What the registry reports, for metrics. */
export interface SubscriptionObserver {
  /**
   * An update was sent `delayMs` after the first change it reports was
   * committed (or the request arrived); `waited` when it was held back by
   * the rate limit or a full connection, so the delay includes that wait.
   */
  pushed(delayMs: number, waited: boolean): void;
  /** A subscription searched the nearby index (or its fallback) again. */
  searched(source: NearbySource | 'failed'): void;
  /** Subscriptions a committed change had to look at: the work, which follows movement. */
  visited(count: number): void;
  /** Open subscriptions. */
  open(count: number): void;
}

/**
 * Where this process's subscriptions look, for a cross-process bus: it
 * feeds in the changes other processes commit there. Each subscription
 * watches the circle of its whole radius, from subscribe (or move) to close.
 */
export interface WatchedAreas {
  /** Returns a handle for unwatch. */
  watch(lat: number, lng: number, radiusKm: number): unknown;
  unwatch(handle: unknown): void;
}
