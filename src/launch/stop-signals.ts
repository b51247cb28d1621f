/** Second signals this soon after the first are echoes (npm forwards the terminal's Ctrl-C), not a user asking again. */
const ECHO_WINDOW_MS = 1000;

/**
 * Runs `stop` on the first SIGINT or SIGTERM and keeps the handlers
 * installed, so a second Ctrl-C (or the copy npm forwards) can never fall
 * through to Node's default and kill the process mid-drain. Later signals
 * only get `onRepeat`, with the time since the first.
 */
export function onStopSignal(stop: (signal: NodeJS.Signals) => void, onRepeat?: (signal: NodeJS.Signals, sinceFirstMs: number) => void): void {
  let firstAt: number | undefined;
  const handle = (signal: NodeJS.Signals) => {
    if (firstAt === undefined) {
      firstAt = Date.now();
      stop(signal);
      return;
    }
    const sinceFirstMs = Date.now() - firstAt;
    if (sinceFirstMs >= ECHO_WINDOW_MS) onRepeat?.(signal, sinceFirstMs);
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

/**
 * For a short command-line job: SIGINT and SIGTERM no longer kill the
 * process mid-write (a half-written embedded database, an open pool); they
 * are noted, `what` says what finishes first, and the job checks `requested`
 * wherever it can stop cleanly.
 */
export function deferStopSignals(what: string): { readonly requested: boolean } {
  let requested = false;
  onStopSignal((signal) => {
    requested = true;
    process.stderr.write(`${signal}: ${what}\n`);
  });
  return {
    get requested() {
      return requested;
    },
  };
}
