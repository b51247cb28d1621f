import type { ErrorMessage, NearbyResultMessage } from '../../src/protocol/messages.ts';

/** One query waiting for its answer. */
export interface PendingQuery<Context> {
  id: number;
  /** performance.now() when it was sent. */
  sentAt: number;
  context: Context;
}

/**
 * The rider side of the protocol, without a socket: request ids, matching
 * each `nearby.result` or `error` to the query it answers, and what becomes
 * of unanswered queries. Shared by the simulator, the benchmark's riders and
 * the map demo. `Context` is whatever the caller keeps per query (the query
 * itself, a promise's resolvers).
 *
 * The hub answers on the socket that asked, so when a connection ends every
 * pending query is lost (`lost()`), never answered later. A refusal before
 * decoding (a rate limit) cannot name the query it refuses; it settles the
 * oldest pending one, so no query waits for an answer that will not come.
 */
export class RiderSession<Context> {
  private nextId = 1;
  private readonly pending = new Map<number, PendingQuery<Context>>();

  /** Queries sent and not yet answered, expired or lost. */
  get outstanding(): number {
    return this.pending.size;
  }

  /** The id for the next query; `track` it once it is on the wire. */
  newId(): number {
    return this.nextId++;
  }

  track(id: number, context: Context, sentAt: number): void {
    this.pending.set(id, { id, sentAt, context });
  }

  /** The query a reply answers, no longer pending; undefined for a reply that matches none. */
  answer(reply: NearbyResultMessage | ErrorMessage): PendingQuery<Context> | undefined {
    const id = typeof reply.id === 'number' ? reply.id : reply.t === 'error' && reply.id === undefined ? this.oldestId() : undefined;
    if (id === undefined) return undefined;
    const query = this.pending.get(id);
    if (query) this.pending.delete(id);
    return query;
  }

  /** Removes and returns the queries sent before `cutoff` that are still unanswered. */
  expire(cutoff: number): Array<PendingQuery<Context>> {
    const expired: Array<PendingQuery<Context>> = [];
    for (const query of this.pending.values()) {
      // Insertion order is send order: the first one young enough ends the scan.
      if (query.sentAt >= cutoff) break;
      expired.push(query);
    }
    for (const query of expired) this.pending.delete(query.id);
    return expired;
  }

  /** The connection ended: removes and returns every pending query, whose answers can never arrive. */
  lost(): Array<PendingQuery<Context>> {
    const lost = [...this.pending.values()];
    this.pending.clear();
    return lost;
  }

  private oldestId(): number | undefined {
    return this.pending.keys().next().value;
  }
}
