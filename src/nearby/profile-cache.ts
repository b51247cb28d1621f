import type { Logger } from '../logger.ts';
import type { DriverProfile, DriverStatus } from '../domain/driver.ts';
import type { Store } from '../store/types.ts';

/**
 * A row is stamped when its statement runs but becomes visible when it
 * commits, up to a statement timeout later: one stamped just before the
 * high-water mark may commit just after a refresh. So refreshes re-read this
 * window below the mark until one has started this long after the mark was
 * first seen; by then every such row has committed and been read, and
 * re-reading the window again (after a bulk import, tens of thousands of
 * rows every refresh) would only stall the event loop.
 */
const REFRESH_OVERLAP_MS = 5000;

/**
 * Name, vehicle, rating and status of every driver, in process, so enriching
 * a nearby answer costs no database round trip. Status changes made through
 * the hub land here at commit; everything else (rows edited by other writers)
 * arrives within one refresh interval.
 */
export class ProfileCache {
  private readonly profiles = new Map<number, DriverProfile>();
  private highWaterMs: number | null = null;
  /** This process's clock when the current high-water mark was first seen. */
  private highWaterSeenAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly refreshMs: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: Error) => this.logger.warn({ err: error }, 'profile refresh failed; serving cached profiles'));
    }, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get size(): number {
    return this.profiles.size;
  }

  get(id: number): DriverProfile | undefined {
    return this.profiles.get(id);
  }

  countByStatus(status: DriverStatus): number {
    let count = 0;
    for (const profile of this.profiles.values()) if (profile.status === status) count++;
    return count;
  }

  /** Records a status the hub itself just committed. */
  setStatus(id: number, status: DriverStatus): void {
    const profile = this.profiles.get(id);
    if (profile && profile.status !== status) this.profiles.set(id, { ...profile, status });
  }

  /** Loads drivers the cache has never seen (created by another writer since the last refresh). */
  async ensure(ids: number[]): Promise<void> {
    const missing = ids.filter((id) => !this.profiles.has(id));
    if (missing.length === 0) return;
    for (const record of await this.store.getDrivers(missing)) {
      this.profiles.set(record.id, {
        id: record.id,
        name: record.name,
        vehicleType: record.vehicleType,
        rating: record.rating,
        status: record.status,
      });
    }
  }

  /** One incremental pass; concurrent callers share it. */
  refresh(): Promise<void> {
    this.refreshing ??= this.loadChanges().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async loadChanges(): Promise<void> {
    const startedAt = Date.now();
    const settled = startedAt - this.highWaterSeenAt > REFRESH_OVERLAP_MS;
    // Settled, the window shrinks to the mark's own millisecond: rows stamped in it may still be arriving.
    const since = this.highWaterMs === null ? null : this.highWaterMs - (settled ? 1 : REFRESH_OVERLAP_MS);
    const { profiles, highWaterMs } = await this.store.profilesChangedSince(since);
    for (const profile of profiles) this.profiles.set(profile.id, profile);
    if (highWaterMs !== null && highWaterMs > (this.highWaterMs ?? Number.NEGATIVE_INFINITY)) {
      this.highWaterMs = highWaterMs;
      this.highWaterSeenAt = startedAt;
    }
  }
}
