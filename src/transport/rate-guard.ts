import { TokenBucket } from './token-bucket.ts';

export interface RateLimitSettings {
  /** Sustained messages per second. */
  perSecond: number;
  /** Messages allowed at once after a quiet spell. */
  burst: number;
  /** Refusals per abuseWindowMs (on average) after which the connection is closed. */
  abuseRefusals: number;
  abuseWindowMs: number;
}

export type RateDecision = 'allow' | 'refuse' | 'close';

/**
 * One connection's message budget. A message over the budget is refused with
 * a retry hint; a client that keeps sending into refusals has a second
 * bucket of allowed refusals drained, and is closed when it runs dry.
 */
export class RateGuard {
  /** Set by the last `refuse` decision. */
  retryAfterMs = 0;
  private readonly messages: TokenBucket;
  private readonly refusals: TokenBucket;

  constructor(settings: RateLimitSettings, nowMs: number) {
    this.messages = new TokenBucket(settings.burst, settings.perSecond, nowMs);
    this.refusals = new TokenBucket(settings.abuseRefusals, (settings.abuseRefusals * 1000) / settings.abuseWindowMs, nowMs);
  }

  admit(nowMs: number): RateDecision {
    const wait = this.messages.take(nowMs);
    if (wait === 0) return 'allow';
    if (this.refusals.take(nowMs) !== 0) return 'close';
    this.retryAfterMs = wait;
    return 'refuse';
  }
}
