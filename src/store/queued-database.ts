import type { SqlDatabase } from './sql-ride-store.ts';

/**
 * Runs at most `limit` statements or transactions at once on `db` and queues
 * the rest here. node-postgres applies its connection timeout to waiting for
 * a free pooled connection too, so a burst of ride requests larger than the
 * pool would fail with "timeout exceeded when trying to connect" although
 * the database is fine; queued here, they wait their turn instead, and the
 * timeout keeps meaning what it should: a server that does not answer.
 * `limit` is the pool's size, so a pooled connection is always free for
 * whoever holds a slot.
 */
export function queuedDatabase(db: SqlDatabase, limit: number): SqlDatabase {
  let active = 0;
  const waiting: Array<() => void> = [];

  async function inTurn<T>(work: () => Promise<T>): Promise<T> {
    if (active < limit) active += 1;
    // A finishing holder hands its slot straight to the first in line.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  }

  return {
    execute: (query) => inTurn(() => db.execute(query)),
    transaction: (work) => inTurn(() => db.transaction(work)),
  };
}
