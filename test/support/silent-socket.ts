import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

/**
 * A WebSocket client that never reads: after the handshake its TCP socket is
 * paused, so the kernel buffers fill and the hub's outbound buffer for it
 * grows, like a rider on a stalled mobile link. `ws` cannot do this: it
 * always reads.
 */
export interface SilentSocket {
  /** Sends one masked text frame, unless our own send buffer is already full; false when skipped. */
  sendText(text: string): boolean;
  destroy(): void;
}

const OWN_SEND_BUFFER_LIMIT = 64 * 1024;

export function openSilentSocket(port: number, path: string): Promise<SilentSocket> {
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
      socket.pause();
      if (!head.startsWith('HTTP/1.1 101')) {
        socket.destroy();
        reject(new Error(`upgrade refused: ${head.split('\r\n', 1)[0]}`));
        return;
      }
      resolve({
        sendText(text) {
          if (socket.writableLength > OWN_SEND_BUFFER_LIMIT || socket.destroyed) return false;
          socket.write(maskedTextFrame(Buffer.from(text, 'utf8')));
          return true;
        },
        destroy: () => socket.destroy(),
      });
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

function maskedTextFrame(payload: Buffer): Buffer {
  if (payload.length >= 65_536) throw new RangeError('frame too large for this client');
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const mask = randomBytes(4);
  const masked = Buffer.allocUnsafe(payload.length);
  for (let index = 0; index < payload.length; index++) masked[index] = payload[index]! ^ mask[index & 3]!;
  return Buffer.concat([header, mask, masked]);
}
