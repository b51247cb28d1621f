/**
 * At most `limit` calls at once; the rest wait their turn, in order, before
 * they start. A caller that makes a call only when it is let through also
 * starts that call's deadline only then, so time spent queued behind the
 * hub's own burst is never held against the store.
 */
export class ConcurrencyGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(call: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    // The finishing call hands its slot over: `active` stays counted for the next one.
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await call();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
