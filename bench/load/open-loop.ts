import type { TaskRun } from './task-run.ts';

export interface OpenLoopSchedule {
  /** Operations a second, evenly spaced from the start. */
  perSecond: number;
  durationMs: number;
  /** How often the timer wakes to issue what fell due since its last turn. */
  tickMs: number;
}

/**
 * An open loop: operation i is due at start + (i + 1) / rate whatever has
 * come back, so a slow hub still faces the offered rate. The timer catches up
 * on everything that fell due since its last turn; each operation is counted
 * against the schedule (on time or late) before `issue(i)` sends it or counts
 * why it could not. Resolves when the window has passed.
 */
export function runOpenLoop(run: TaskRun, schedule: OpenLoopSchedule, issue: (index: number) => void): Promise<void> {
  const perMs = schedule.perSecond / 1000;
  const started = performance.now();
  let issued = 0;
  return new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = performance.now() - started;
      const due = Math.floor(Math.min(elapsed, schedule.durationMs) * perMs);
      while (issued < due) {
        const index = issued;
        issued += 1;
        run.scheduled(started + issued / perMs);
        issue(index);
      }
      if (elapsed >= schedule.durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, schedule.tickMs);
  });
}
