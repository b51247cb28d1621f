import { HubError } from '../protocol/errors.ts';

export interface ConnectionCapSettings {
  /** Open and opening WebSocket connections per hub. */
  maxConnections: number;
  /** Open and opening connections per verified identity. */
  maxPerIdentity: number;
}

/** How long a refused client should wait before trying again. */
const RETRY_AFTER_MS = 5000;

/**
 * Counts connections from the moment their upgrade is admitted, not from
 * open: admission is async (token check, database lookup), and a burst of
 * upgrades must not all pass a check that only counts open sockets.
 */
export class ConnectionCaps {
  private total = 0;
  private readonly perIdentity = new Map<string, number>();

  constructor(private readonly settings: ConnectionCapSettings) {}

  /** Takes a slot, or throws HubError overloaded (hub full, 503) or rate_limited (identity full, 429). */
  reserve(key: string | undefined): void {
    if (this.total >= this.settings.maxConnections) {
      throw new HubError('overloaded', `the hub is at its connection limit (${this.settings.maxConnections})`, RETRY_AFTER_MS);
    }
    if (key !== undefined) {
      const count = this.perIdentity.get(key) ?? 0;
      if (count >= this.settings.maxPerIdentity) {
        throw new HubError('rate_limited', `too many connections for this identity (limit ${this.settings.maxPerIdentity})`, RETRY_AFTER_MS);
      }
      this.perIdentity.set(key, count + 1);
    }
    this.total += 1;
  }

  release(key: string | undefined): void {
    this.total -= 1;
    if (key === undefined) return;
    const count = (this.perIdentity.get(key) ?? 1) - 1;
    if (count <= 0) this.perIdentity.delete(key);
    else this.perIdentity.set(key, count);
  }

  /** Runs an admission step with a slot held, giving the slot back if the step fails. */
  async holding<T>(key: string | undefined, admit: () => Promise<T>): Promise<T> {
    this.reserve(key);
    try {
      return await admit();
    } catch (error) {
      this.release(key);
      throw error;
    }
  }
}
