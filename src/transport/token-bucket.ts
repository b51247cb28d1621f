/**
 * A token bucket refilled continuously. The caller passes the clock in, so a
 * socket reads it once per message and tests need no fake timers.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAtMs: number;
  private readonly refillPerMs: number;

  constructor(
    private readonly capacity: number,
    refillPerSecond: number,
    nowMs: number,
  ) {
    this.tokens = capacity;
    this.updatedAtMs = nowMs;
    this.refillPerMs = refillPerSecond / 1000;
  }

  /** Takes one token: 0 when granted, otherwise the milliseconds until one is available. */
  take(nowMs: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, nowMs - this.updatedAtMs) * this.refillPerMs);
    this.updatedAtMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.refillPerMs));
  }
}
