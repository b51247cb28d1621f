/**
 * How a client presents its token in the WebSocket handshake when it cannot
 * (or would rather not) put it in the URL as `?token=`: it offers the
 * subprotocols `dispatch.v1, bearer.<token>`. The hub answers with
 * `dispatch.v1`, so the token is never echoed back; a client that offers only
 * the bearer entry gets that entry back, because a handshake whose answer is
 * not one of the offered subprotocols fails in browsers and in `ws`.
 */
export const HUB_SUBPROTOCOL = 'dispatch.v1';
export const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/** The `Sec-WebSocket-Protocol` offers for a token: what a client passes as `new WebSocket(url, protocols)`. */
export function bearerSubprotocols(token: string): string[] {
  return [HUB_SUBPROTOCOL, `${BEARER_SUBPROTOCOL_PREFIX}${token}`];
}
