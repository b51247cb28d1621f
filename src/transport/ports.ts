import type { DeclaredStatus, DriverRecord } from '../domain/driver.ts';
import type { AcceptOutcome } from '../ingest/ingest-service.ts';
import type { NearbyAnswer, NearbyCriteria } from '../nearby/nearby-service.ts';
import type { ErrorCode } from '../protocol/errors.ts';
import type { LocationFrame, SubscribeMessage, SubscribeMoveMessage, SubscriptionId } from '../protocol/messages.ts';
import type { Subscriber } from '../subscriptions/types.ts';
import type { HubStats, ReadinessReport } from '../protocol/rest.ts';
import type { TrackPage, TrackQuery } from '../store/types.ts';
import type { Role } from '../domain/identity.ts';
import type { LifecycleStatus, RideActor } from '../domain/ride.ts';
import type { RideRequest, RideRequestedMessage } from '../protocol/ride-messages.ts';
import type { OfferRecord, RideRecord } from '../store/ride-store.ts';

/** Driver sessions and their location stream: what the driver socket and the REST write need from ingest. */
export interface DriverIngest {
  /** The driver's durable seq, or null when no such driver exists; throws HubError `unavailable` while the database is down. */
  resumePoint(driverId: number): Promise<number | null>;
  registerDriver(driverId: number, committedSeq: number): void;
  releaseDriver(driverId: number): void;
  acceptLocation(driverId: number, frame: LocationFrame, receivedAtMs: number): AcceptOutcome;
  /** A location frame the transport refused (rate limit): the driver must resend it before anything later commits. */
  refuseLocation(driverId: number, seq: number): void;
  acceptStatus(driverId: number, status: DeclaredStatus, receivedAtMs: number): AcceptOutcome;
  /** The original design's per-request write; null for an unknown driver. */
  writeNow(driverId: number, lat: number, lng: number): Promise<DriverRecord | null>;
}

/** A party's ride actions over the socket, and the operator's ride read: what the transport needs from dispatch. */
export interface RideActions {
  /** Creates the ride and starts dispatching it; throws HubError `ride_in_progress` while the rider has an open ride. */
  request(riderId: string, request: RideRequest): Promise<RideRequestedMessage>;
  accept(driverId: number, rideId: string, receivedAtMs: number): Promise<void>;
  decline(driverId: number, rideId: string, receivedAtMs: number): Promise<void>;
  /** One lifecycle step; throws HubError `not_found`, `forbidden` or `illegal_transition`. */
  transition(actor: RideActor, rideId: string, to: LifecycleStatus, reason?: string | null): Promise<void>;
  /** The ride and every offer made for it; null for an unknown ride. */
  rideWithOffers(rideId: string): Promise<{ ride: RideRecord; offers: OfferRecord[] } | null>;
}

export interface NearbyFinder {
  find(criteria: NearbyCriteria): Promise<NearbyAnswer>;
}

/** Live nearby: what the rider socket needs from the subscription registry. Refusals throw HubError. */
export interface LiveNearby {
  subscribe(subscriber: Subscriber, request: SubscribeMessage): void;
  move(subscriber: Subscriber, request: SubscribeMoveMessage): void;
  unsubscribe(subscriber: Subscriber, id: SubscriptionId): void;
  /** The connection closed: all its subscriptions end. */
  disconnect(subscriber: Subscriber): void;
  /** The connection can take updates again. */
  drained(subscriber: Subscriber): void;
}

/** The operator endpoints: readiness, Prometheus text, the demo's stats, recorded tracks. */
export interface HubOps {
  /** One page of a driver's recorded positions; null for an unknown driver. */
  driverTrack(query: TrackQuery): Promise<TrackPage | null>;
  readiness(): Promise<ReadinessReport>;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  stats(): HubStats;
}

/** Why the hub closed a socket on purpose: rate-limit abuse (1008), an expired token (4401) or a slow reader (4008). */
export type HubCloseReason = 'rate_abuse' | 'token_expired' | 'too_slow';

/**
 * Everything the transport reports for counting, as one discriminated union
 * on one hook: the metrics (and anything else that watches the sockets)
 * subscribe in the composition root, and the transport knows nothing of them.
 */
export type HubEvent =
  | { type: 'connection.opened'; role: Role }
  | { type: 'connection.closed'; role: Role }
  | { type: 'upgrade.refused'; code: ErrorCode }
  /** A client message that passed the rate limit and decoded; `messageType` is its `t`. */
  | { type: 'frame.received'; role: Role; messageType: string }
  | { type: 'frame.refused'; code: ErrorCode }
  | { type: 'socket.closed_by_hub'; reason: HubCloseReason }
  /** A nearby result held back because the rider's outbound buffer was full. */
  | { type: 'result.coalesced' }
  /** After each sweep: sockets over the outbound bound right now. */
  | { type: 'sockets.slow'; count: number };

/**
 * The port between the transport and the rest: the domain calls, the
 * operator calls, and one event hook. Nothing here knows about sockets.
 * New services (dispatch) add a member here and handlers in the routing tables.
 */
export interface HubServices {
  readonly ingest: DriverIngest;
  readonly nearby: NearbyFinder;
  readonly subscriptions: LiveNearby;
  readonly dispatch: RideActions;
  readonly ops: HubOps;
  record(event: HubEvent): void;
}
