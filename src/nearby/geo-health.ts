import type { Logger } from '../logger.ts';

export type GeoState = 'up' | 'down' | 'repairing';

export interface GeoHealthOptions {
  probeIntervalMs: number;
  /** Liveness check of the index; throws while it is unreachable. */
  probe: () => Promise<void>;
  /** Rebuilds the index from the database before reads trust it again. */
  repair: () => Promise<void>;
  logger: Logger;
  onChange?: (state: GeoState) => void;
}

/**
 * Whether nearby reads may use the geo index. One failed call marks it down;
 * reads then go to SQL without waiting on the index, a probe loop watches
 * for its return, and the index is repaired from PostgreSQL (it may have
 * restarted empty or missed writes) before reads switch back.
 */
export class GeoHealth {
  private current: GeoState = 'up';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** A failure while a repair ran: that repair may have missed writes, so it cannot end in 'up'. */
  private failedDuringRepair = false;

  constructor(private readonly options: GeoHealthOptions) {}

  get state(): GeoState {
    return this.current;
  }

  get usable(): boolean {
    return this.current === 'up';
  }

  reportFailure(error: Error, operation: string): void {
    if (this.current === 'repairing') this.failedDuringRepair = true;
    if (this.current !== 'up' || this.stopped) return;
    this.options.logger.warn({ err: error, operation }, 'geo index failed; nearby switches to the SQL fallback');
    this.transition('down');
    this.scheduleProbe();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private transition(state: GeoState): void {
    this.current = state;
    this.options.onChange?.(state);
  }

  private scheduleProbe(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.probeOnce(), this.options.probeIntervalMs);
    this.timer.unref();
  }

  private async probeOnce(): Promise<void> {
    try {
      await this.options.probe();
    } catch (error) {
      this.options.logger.debug({ err: error }, 'geo index still unreachable');
      this.scheduleProbe();
      return;
    }
    this.transition('repairing');
    this.failedDuringRepair = false;
    try {
      await this.options.repair();
      if (this.failedDuringRepair) throw new Error('the geo index failed again while it was being repaired');
    } catch (error) {
      this.options.logger.warn({ err: error }, 'geo index repair failed; retrying');
      this.transition('down');
      this.scheduleProbe();
      return;
    }
    if (this.stopped) return;
    this.options.logger.info('geo index repaired; nearby reads switch back to it');
    this.transition('up');
  }
}
