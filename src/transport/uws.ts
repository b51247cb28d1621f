import uws from 'uWebSockets.js';

export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket } from 'uWebSockets.js';
export { uws };

/**
 * The uWS package silently swaps in a slow pure-JS server when its native
 * binary fails to load. A hub on that fallback would look healthy and fall
 * over under load, so refuse to run instead.
 */
export function assertNativeUws(): void {
  const native = typeof uws.App === 'function' && /\[native code\]/.test(Function.prototype.toString.call(uws.App));
  if (!native || process.env.UWS_USE_FALLBACK) {
    throw new Error(
      `uWebSockets.js did not load its native binary for node ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules}); refusing to run on the pure-JS fallback`,
    );
  }
}
