import type { Rng } from '../../src/domain/random.ts';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 500, maxMs: 30_000 };

/**
 * Exponential backoff with "equal jitter": half the window fixed, half random.
 * The random half spreads a fleet that lost the hub at the same instant so
 * it does not reconnect in one thundering herd; the fixed half keeps any
 * single client from hammering a hub that is still down.
 */
export function backoffDelayMs(attempt: number, rng: Rng, options: BackoffOptions = DEFAULT_BACKOFF): number {
  const window = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt));
  return window / 2 + rng.range(0, window / 2);
}
