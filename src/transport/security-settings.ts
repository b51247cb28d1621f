import type { Config } from '../config.ts';
import type { ConnectionCapSettings } from './connection-caps.ts';
import type { AuthSettings } from './identity.ts';
import type { RateLimitSettings } from './rate-guard.ts';

/** Who may connect, how much each connection may send, and how long a slow reader is kept. */
export interface SecuritySettings {
  auth: AuthSettings;
  driverRate: RateLimitSettings;
  riderRate: RateLimitSettings;
  caps: ConnectionCapSettings;
  /** How long a socket may stay over the outbound bound before it is closed with 4008. */
  slowCloseMs: number;
  /** Serve short-lived rider tokens to anyone, for the map demo on a hub with AUTH_SECRET (DEMO_RIDER_TOKENS). */
  demoRiderTokens: boolean;
}

export function securitySettings(config: Config): SecuritySettings {
  const abuse = { abuseRefusals: config.RATE_LIMIT_ABUSE_REFUSALS, abuseWindowMs: config.RATE_LIMIT_ABUSE_WINDOW_MS };
  return {
    auth: { secret: config.AUTH_SECRET, previousSecret: config.AUTH_PREVIOUS_SECRET },
    driverRate: { perSecond: config.DRIVER_FRAMES_PER_S, burst: config.DRIVER_FRAME_BURST, ...abuse },
    riderRate: { perSecond: config.RIDER_QUERIES_PER_S, burst: config.RIDER_QUERY_BURST, ...abuse },
    caps: { maxConnections: config.MAX_CONNECTIONS, maxPerIdentity: config.MAX_CONNECTIONS_PER_IDENTITY },
    slowCloseMs: config.WS_SLOW_CLOSE_MS,
    demoRiderTokens: config.DEMO_RIDER_TOKENS,
  };
}
