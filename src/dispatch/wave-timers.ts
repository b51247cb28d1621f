/**
 * The deadlines of dispatch: at most one per ride (its current wave's
 * expiry, or "start the first wave now"). This is the one place that decides
 * when a ride's next dispatch step runs in this process; which process's
 * step takes effect is decided by the conditional writes in the store, so a
 * timer that fires for a wave another process already moved past is a no-op.
 *
 * A step that fails (the database is down) runs again after a pause, for as
 * long as the ride's timer is not cleared.
 */
export interface WaveTimers {
  /** Runs `step` at `atMs` (epoch ms) in place of the ride's current timer. */
  set(rideId: string, atMs: number, step: () => Promise<void>): void;
  clear(rideId: string): void;
  /** Timers currently set: for tests and metrics. */
  readonly size: number;
  stop(): void;
}

export interface WaveTimerOptions {
  now: () => number;
  retryMs: number;
  onStepFailed: (rideId: string, error: unknown) => void;
}

export function createWaveTimers(options: WaveTimerOptions): WaveTimers {
  const timers = new Map<string, NodeJS.Timeout>();
  let stopped = false;

  function set(rideId: string, atMs: number, step: () => Promise<void>): void {
    if (stopped) return;
    clearTimeout(timers.get(rideId));
    const timer = setTimeout(
      () => {
        if (timers.get(rideId) === timer) timers.delete(rideId);
        step().catch((error: unknown) => {
          options.onStepFailed(rideId, error);
          // Retry only if nothing newer took this ride's slot meanwhile.
          if (!timers.has(rideId)) set(rideId, options.now() + options.retryMs, step);
        });
      },
      Math.max(0, atMs - options.now()),
    );
    // Timers never hold the process open; shutdown clears them.
    timer.unref();
    timers.set(rideId, timer);
  }

  return {
    set,
    clear(rideId) {
      clearTimeout(timers.get(rideId));
      timers.delete(rideId);
    },
    get size() {
      return timers.size;
    },
    stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
