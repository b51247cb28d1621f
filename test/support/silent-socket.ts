import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { MAX_OPEN_ATTEMPTS, SETTLE_MS } from './steady-connect.ts';

/**
 * A WebSocket client that never reads: after the handshake its TCP socket is
 * paused, so the kernel buffers fill and the hub's outbound buffer for it
 * grows, like a rider on a stalled mobile link. `ws` cannot do this: it
 * always reads.
 */
export interface SilentSocket {
  /** Sends one masked text frame, unless our own send buffer is already full; false when skipped. */
  sendText(text: string): boolean;
  /** True once the connection has ended, whichever side ended it. */
  readonly closed: boolean;
  destroy(): void;
}

const OWN_SEND_BUFFER_LIMIT = 64 * 1024;

/**
 * Opens a silent socket that stayed open for SETTLE_MS after its upgrade;
 * one the hub shut at once (a uWS quirk, see SETTLE_MS) is opened again, as
 * a paused socket would never notice the close and silently stop counting.
 */
export async function openSilentSocket(port: number, path: string): Promise<SilentSocket> {
  for (let attempt = 1; ; attempt++) {
    const socket = await openOnce(port, path);
    if (socket) return socket;
    if (attempt >= MAX_OPEN_ATTEMPTS) throw new Error(`${path}: shut right after the upgrade ${attempt} times in a row`);
  }
}

/** Resolves with the socket, or undefined when the hub closed it within SETTLE_MS of the upgrade. */
function openOnce(port: number, path: string): Promise<SilentSocket | undefined> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${head.split('\r\n', 1)[0]}`));
        return;
      }
      // Once upgraded, a reset is the hub closing the socket: the outcome some tests wait for, not a failure.
      socket.off('error', reject);
      socket.on('error', () => undefined);
      // Still reading, so a close by the hub is seen; it sends a rider nothing before it asks.
      const onEarlyClose = () => {
        clearTimeout(settling);
        resolve(undefined);
      };
      const settling = setTimeout(() => {
        socket.off('close', onEarlyClose);
        socket.pause();
        resolve({
          sendText(text) {
            if (socket.writableLength > OWN_SEND_BUFFER_LIMIT || socket.destroyed) return false;
            socket.write(maskedTextFrame(Buffer.from(text, 'utf8')));
            return true;
          },
          get closed() {
            return socket.destroyed;
          },
          destroy: () => socket.destroy(),
        });
      }, SETTLE_MS);
      socket.once('close', onEarlyClose);
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

function maskedTextFrame(payload: Buffer): Buffer {
  if (payload.length >= 65_536) throw new RangeError('frame too large for this client');
  const header =
    payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const mask = randomBytes(4);
  const masked = Buffer.allocUnsafe(payload.length);
  for (let index = 0; index < payload.length; index++) masked[index] = payload[index]! ^ mask[index & 3]!;
  return Buffer.concat([header, mask, masked]);
}
