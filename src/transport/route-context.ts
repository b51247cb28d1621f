import type { Logger } from '../logger.ts';
import type { ConnectionCaps } from './connection-caps.ts';
import type { IdentityResolver } from './identity.ts';
import type { RateLimitSettings } from './rate-guard.ts';
import type { SlicedQueue } from './sliced-queue.ts';
import type { SocketLimits } from './socket-limits.ts';

/** What a WebSocket route needs besides the domain services: limits, identity, caps and its rate budget. */
export interface RouteContext {
  limits: SocketLimits;
  identities: IdentityResolver;
  caps: ConnectionCaps;
  rate: RateLimitSettings;
  logger: Logger;
  /** Paces upgrade work over loop turns (see upgradeAsync). */
  admissions: SlicedQueue;
}
