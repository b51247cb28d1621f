import type { Store } from '../store/types.ts';

interface Waiter {
  driverId: number;
  resolve(seq: number | null): void;
  reject(error: unknown): void;
}

/** Ids per query at most: a storm of 10,000 upgrades still reads in a few statements, each bounded. */
const MAX_IDS_PER_QUERY = 5000;
/** Queries at once: lookups that arrive while they run wait and share the next one, so a storm needs few statements, not one per loop turn. */
const MAX_QUERIES_IN_FLIGHT = 2;

/**
 * Drivers' resume points (their committed seq, `hello.lastSeq`) for sockets
 * that are upgrading, read from PostgreSQL, never from memory, so they are
 * right after a crash and on another hub. Lookups are gathered: every lookup
 * of one loop turn shares a query, and while MAX_QUERIES_IN_FLIGHT run,
 * new lookups wait and share the next. When thousands of drivers reconnect
 * at once, one statement per driver filled the pool, queued every other
 * read behind them, and timed out.
 */
export class ResumePoints {
  private waiting: Waiter[] = [];
  private scheduled = false;
  private inFlight = 0;
  private readonly flushBound = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly store: Pick<Store, 'resumePoints'>,
    /** A failed query, once for all the lookups it carried (each of them rejects). */
    private readonly onError: (error: unknown, lookups: number) => void = () => undefined,
  ) {}

  /** The driver's committed seq, or null when no such driver exists. */
  lookup(driverId: number): Promise<number | null> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ driverId, resolve, reject });
      if (!this.scheduled && this.inFlight < MAX_QUERIES_IN_FLIGHT) {
        this.scheduled = true;
        // After the poll phase: every upgrade of this turn has asked by then.
        setImmediate(this.flushBound);
      }
    });
  }

  private flush(): void {
    while (this.waiting.length > 0 && this.inFlight < MAX_QUERIES_IN_FLIGHT) {
      const waiters = this.waiting.splice(0, MAX_IDS_PER_QUERY);
      this.inFlight++;
      void this.read(waiters).finally(() => {
        this.inFlight--;
        this.flush();
      });
    }
  }

  private async read(waiters: Waiter[]): Promise<void> {
    let points: Map<number, number>;
    try {
      points = await this.store.resumePoints([...new Set(waiters.map((waiter) => waiter.driverId))]);
    } catch (error) {
      this.onError(error, waiters.length);
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (const waiter of waiters) waiter.resolve(points.get(waiter.driverId) ?? null);
  }
}
