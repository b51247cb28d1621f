import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stdout; one logger per hub, children per component. */
export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base: { service: 'dispatch-hub', ...base }, timestamp: pino.stdTimeFunctions.isoTime });
}
