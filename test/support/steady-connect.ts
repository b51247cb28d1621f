import { TestClient } from './ws-client.ts';

/**
 * How long a fresh socket must stay open to count as open.
 *
 * uWebSockets.js 20.30 sometimes shuts a socket that it upgraded
 * asynchronously (inside res.cork), in the same call that opened it. Its
 * cork() reads the HTTP state from memory that the WebSocket now occupies
 * (uNetworking/uWebSockets PR #1929, uWebSockets.js issue #1108). The client
 * sees the open (and a driver's hello), then a 1006, and its first frame is
 * never read. Under load this hits about one socket in forty. A real app
 * simply reconnects, and so do the test clients.
 */
export const SETTLE_MS = 50;
export const MAX_OPEN_ATTEMPTS = 3;

/** A TestClient whose socket survived its first SETTLE_MS; reconnects when uWS shut it at once. */
export async function connectSteadily(url: string): Promise<TestClient> {
  for (let attempt = 1; ; attempt++) {
    const client = await TestClient.connect(url);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    if (!client.closeEvent) return client;
    if (attempt >= MAX_OPEN_ATTEMPTS) throw new Error(`${url}: shut right after opening ${attempt} times in a row`);
  }
}
