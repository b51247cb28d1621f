import type { Logger } from '../logger.ts';
import { HubError } from '../protocol/errors.ts';
import { httpStatusFor } from './http-util.ts';
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';

/**
 * Runs an async admission check in a uWS upgrade handler. The request's
 * headers are copied before any await (uWS frees the request on return), and
 * onAborted is registered first so a vanished client is never written to.
 */
export function upgradeAsync<UserData>(
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
  logger: Logger,
  admit: (query: URLSearchParams, header: (name: string) => string) => Promise<UserData>,
): void {
  const headers = new Map<string, string>();
  req.forEach((key, value) => headers.set(key, value));
  const query = new URLSearchParams(req.getQuery() ?? '');
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  const header = (name: string) => headers.get(name) ?? '';
  admit(query, header).then(
    (userData) => {
      if (state.aborted) return;
      res.cork(() => {
        res.upgrade(userData, header('sec-websocket-key'), header('sec-websocket-protocol'), header('sec-websocket-extensions'), context);
      });
    },
    (error: unknown) => {
      if (state.aborted) return;
      const hubError = error instanceof HubError ? error : new HubError('internal', 'internal error');
      if (!(error instanceof HubError)) logger.error({ err: error }, 'upgrade failed');
      res.cork(() => {
        res
          .writeStatus(httpStatusFor(hubError.code))
          .writeHeader('content-type', 'application/json')
          .end(JSON.stringify({ success: false, error: hubError.message, code: hubError.code }));
      });
    },
  );
}
