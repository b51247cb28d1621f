import type { AcceptOutcome } from '../ingest/ingest-service.ts';
import type { NearbyAnswer, NearbyCriteria } from '../nearby/nearby-service.ts';
import type { DriverRecord } from '../domain/driver.ts';
import type { LocationFrame } from '../protocol/messages.ts';
import type { HubStats, ReadinessReport } from '../protocol/rest.ts';
import type { TrackPage, TrackQuery } from '../store/types.ts';

/** What the transport needs from the domain: nothing here knows about sockets. */
export interface HubServices {
  /** The driver's durable seq, or null when no such driver exists. */
  resumePoint(driverId: number): Promise<number | null>;
  registerDriver(driverId: number, committedSeq: number): void;
  releaseDriver(driverId: number): void;
  acceptLocation(driverId: number, frame: LocationFrame, receivedAtMs: number): AcceptOutcome;
  /** A location frame the transport refused (rate limit): the driver must resend it before anything later commits. */
  refuseLocation(driverId: number, seq: number): void;
  acceptStatus(driverId: number, status: 'online' | 'offline', receivedAtMs: number): AcceptOutcome;
  findNearby(criteria: NearbyCriteria): Promise<NearbyAnswer>;
  /** The original design's per-request write; null for an unknown driver. */
  updateLocationNow(driverId: number, lat: number, lng: number): Promise<DriverRecord | null>;
  /** One page of a driver's recorded positions; null for an unknown driver. */
  driverTrack(query: TrackQuery): Promise<TrackPage | null>;
  readiness(): Promise<ReadinessReport>;
  metricsText(): Promise<string>;
  readonly metricsContentType: string;
  onConnectionCountChange(role: 'driver' | 'rider', delta: number): void;
  onFrameRefused(reason: string): void;
  onFrameReceived(type: string): void;
  /** The hub closed a socket on purpose: rate-limit abuse (1008), an expired token (4401) or a slow reader (4008). */
  onSocketClosedByHub(reason: 'rate_abuse' | 'token_expired' | 'too_slow'): void;
  /** A nearby result was held back because the rider's outbound buffer was full. */
  onResultCoalesced(): void;
  /** Sockets over the outbound bound at the last sweep. */
  onSlowSocketCount(count: number): void;
  onUpgradeRefused(code: string): void;
  stats(): HubStats;
}
