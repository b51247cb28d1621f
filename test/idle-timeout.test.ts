import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestHub, type TestHub } from './support/hub.ts';
import { openSilentSocket, type SilentSocket } from './support/silent-socket.ts';
import { connectSteadily } from './support/steady-connect.ts';

const IDLE_TIMEOUT_S = 8;

let testHub: TestHub;
let silent: SilentSocket | undefined;

beforeAll(async () => {
  testHub = await startTestHub('idle-timeout', { WS_IDLE_TIMEOUT_S: String(IDLE_TIMEOUT_S) });
});
afterAll(async () => {
  silent?.destroy();
  await testHub.close();
});

it('closes a socket that answers nothing, not even pings, and keeps a quiet client that answers pings', async () => {
  const quiet = await connectSteadily(testHub.wsUrl('/ws/rider'));
  silent = await openSilentSocket(testHub.hub.port, '/ws/rider');
  expect(testHub.hub.transport.connectionCounts().riders).toBe(2);

  const started = Date.now();
  await expect
    .poll(() => testHub.hub.transport.connectionCounts().riders, { timeout: IDLE_TIMEOUT_S * 3000, interval: 50, message: 'the silent socket is closed' })
    .toBe(1);
  // uWS checks timeouts every 4 s: not closed early, and by twice the timeout plus that any unanswered socket is gone.
  expect(Date.now() - started).toBeGreaterThan(IDLE_TIMEOUT_S * 1000 - 4000);
  // Sleep on purpose, the behaviour is a duration: the quiet client must outlive the time by which an unanswering one is gone.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + IDLE_TIMEOUT_S * 2000 + 4000 - Date.now())));
  // The client that sent nothing all along but answered the hub's pings is still served.
  expect(quiet.closeEvent).toBeUndefined();
  quiet.send({ t: 'nearby', id: 'still-here', lat: 40.75, lng: -73.98 });
  await quiet.waitFor((m) => m.t === 'nearby.result');
  quiet.close();
});
