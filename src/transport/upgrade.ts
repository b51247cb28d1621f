import type { Logger } from '../logger.ts';
import { HubError, type ErrorCode } from '../protocol/errors.ts';
import { httpStatusFor } from './http-util.ts';
import type { SlicedQueue } from './sliced-queue.ts';
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';

export interface UpgradeRequest {
  query: URLSearchParams;
  /** A request header by lower-case name, '' when absent (a plain function: the headers were copied out of uWS's request). */
  readonly header: (name: string) => string;
}

export interface Admission<UserData> {
  userData: UserData;
  /** The subprotocol to answer with: one the client offered, or '' for none. */
  protocol: string;
  /** Gives back what admission reserved when the client vanished before the socket opened. */
  abandon(): void;
}

/**
 * Runs an async admission check in a uWS upgrade handler. The request's
 * headers are copied before any await (uWS frees the request on return), and
 * onAborted is registered first so a vanished client is never written to.
 * With a `pace` queue, the admission's start (token verification) and its
 * end (the upgrade, which opens the socket and greets it) each run as a job
 * of that queue, so a storm of upgrades is spread over loop turns instead of
 * holding the loop; the handler itself only copies what it must.
 */
export function upgradeAsync<UserData>(
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
  logger: Logger,
  admit: (request: UpgradeRequest) => Promise<Admission<UserData>>,
  onRefused: (code: ErrorCode) => void,
  pace?: SlicedQueue,
): void {
  const headers = new Map<string, string>();
  req.forEach((key, value) => headers.set(key, value));
  const query = new URLSearchParams(req.getQuery() ?? '');
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  const header = (name: string) => headers.get(name) ?? '';
  const later = (job: () => void) => (pace ? pace.push(job) : job());
  const upgrade = (admission: Admission<UserData>) => {
    if (state.aborted) {
      admission.abandon();
      return;
    }
    res.cork(() => {
      res.upgrade(admission.userData, header('sec-websocket-key'), admission.protocol, header('sec-websocket-extensions'), context);
    });
  };
  const refuse = (error: unknown) => {
    if (state.aborted) return;
    const hubError = error instanceof HubError ? error : new HubError('internal', 'internal error');
    if (!(error instanceof HubError)) logger.error({ err: error }, 'upgrade failed');
    onRefused(hubError.code);
    res.cork(() => {
      res.writeStatus(httpStatusFor(hubError.code)).writeHeader('content-type', 'application/json');
      if (hubError.retryAfterMs !== undefined) res.writeHeader('retry-after', String(Math.ceil(hubError.retryAfterMs / 1000)));
      res.end(JSON.stringify({ success: false, error: hubError.message, code: hubError.code }));
    });
  };
  later(() => {
    if (state.aborted) return;
    admit({ query, header }).then(
      (admission) => later(() => upgrade(admission)),
      (error: unknown) => later(() => refuse(error)),
    );
  });
}
