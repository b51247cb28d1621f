import { randomUUID } from 'node:crypto';
import { signToken } from '../auth/tokens.ts';
import type { Logger } from '../logger.ts';
import { sendJson, watchAbort } from './http-util.ts';
import type { TemplatedApp } from './uws.ts';

export const DEMO_RIDER_TOKEN_PATH = '/api/demo/rider-token';
/** Short: the page asks again before every (re)connect, so nothing long-lived is handed out. */
const DEMO_TOKEN_TTL_S = 15 * 60;

/**
 * DEMO_RIDER_TOKENS: hands any visitor a short-lived rider token, so the map
 * page works on a hub with AUTH_SECRET (the docker compose demo). A rider
 * can only ask for nearby drivers; each token gets its own subject, so the
 * per-identity connection cap still applies per visitor.
 *
 * `secret` is null when the setting is off (or the hub is open and needs no
 * token): the path then answers 204 and gives nothing. It answers at all so
 * that the page can ask any hub without a 404 in the browser's console.
 */
export function registerDemoTokenRoute(app: TemplatedApp, secret: string | null, logger: Logger): void {
  if (!secret) {
    app.get(DEMO_RIDER_TOKEN_PATH, (res) => {
      res.cork(() => res.writeStatus('204 No Content').writeHeader('cache-control', 'no-store').endWithoutBody());
    });
    return;
  }
  logger.warn(`DEMO_RIDER_TOKENS is on: ${DEMO_RIDER_TOKEN_PATH} gives anyone who reaches this hub a rider token; for demos only`);
  app.get(DEMO_RIDER_TOKEN_PATH, (res) => {
    const state = watchAbort(res);
    signToken({ role: 'rider', subject: `demo-${randomUUID()}`, ttl: DEMO_TOKEN_TTL_S, secret }).then(
      (token) => sendJson(res, state, '200 OK', { token, expiresInS: DEMO_TOKEN_TTL_S }, { 'cache-control': 'no-store' }),
      (error: unknown) => {
        logger.error({ err: error }, 'demo token signing failed');
        sendJson(res, state, '500 Internal Server Error', { success: false, error: 'internal error', code: 'internal' });
      },
    );
  });
}
