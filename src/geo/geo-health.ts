import { DeadlineExceededError } from '../deadline.ts';
import type { Logger } from '../logger.ts';
import type { GeoHealthReports, GeoState } from './types.ts';

/** Timeouts in a row that mark the index down; any other failure does at once. */
export const TIMEOUTS_BEFORE_DOWN = 3;

function isTimeout(error: Error): boolean {
  return error instanceof DeadlineExceededError;
}

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
 * Whether nearby reads may use the geo index. A failed call (or a few
 * timeouts in a row) marks it down;
 * reads then go to SQL without waiting on the index, a probe loop watches
 * for its return, and the index is repaired from PostgreSQL (it may have
 * restarted empty or missed writes) before reads switch back.
 */
export class GeoHealth implements GeoHealthReports {
  private current: GeoState = 'up';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** A failure while a repair ran: that repair may have missed writes, so it cannot end in 'up'. */
  private failedDuringRepair = false;
  private consecutiveTimeouts = 0;

  constructor(private readonly options: GeoHealthOptions) {}

  get state(): GeoState {
    return this.current;
  }

  get usable(): boolean {
    return this.current === 'up';
  }

  /** A call that worked: the run of timeouts is broken. */
  reportSuccess(): void {
    this.consecutiveTimeouts = 0;
  }

  reportFailure(error: Error, operation: string): void {
    if (this.current === 'repairing') this.failedDuringRepair = true;
    if (this.current !== 'up' || this.stopped) return;
    // A lone timeout is as often this process being busy as the index being
    // down; flipping on it would push every rider onto PostgreSQL (and force
    // a full repair) exactly when the hub is most loaded. The timed-out query
    // itself is still answered from SQL.
    if (isTimeout(error) && ++this.consecutiveTimeouts < TIMEOUTS_BEFORE_DOWN) return;
    this.consecutiveTimeouts = 0;
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
