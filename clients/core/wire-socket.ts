import { connect, type Socket } from 'node:net';

/**
 * A minimal WebSocket client over a raw TCP socket, for load generation only.
 * A load generator on the same two cores as the hub must spend as little CPU
 * per frame as it can: frames are built with an all-zero mask (legal per
 * RFC 6455 §5.3, and it leaves the payload as is), several frames go out in
 * one corked write, and replies are parsed in place without copies.
 */

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
const OPCODE_CLOSE = 0x8;
const OPCODE_PING = 0x9;
const HEADER_END = Buffer.from('\r\n\r\n');

export interface WireHandlers {
  onOpen(socket: WireSocket): void;
  /** `payload` is only valid during the call: decode it before returning. */
  onMessage(payload: Buffer, binary: boolean): void;
  /** Called once, for a failed handshake, an error, or a close from either side. */
  onClose(reason: string): void;
}

/** One client frame: FIN, opcode, mask bit with a zero key, payload. */
export function encodeClientFrame(payload: Uint8Array, binary: boolean, opcode = binary ? OPCODE_BINARY : OPCODE_TEXT): Buffer {
  const length = payload.byteLength;
  const headerLength = length < 126 ? 6 : length < 65_536 ? 8 : 14;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | opcode;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 65_536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.writeUInt32BE(0, headerLength - 4);
  frame.set(payload, headerLength);
  return frame;
}

export class WireSocket {
  private readonly socket: Socket;
  private upgraded = false;
  private buffered: Buffer | undefined;
  private done = false;

  constructor(
    host: string,
    port: number,
    pathAndQuery: string,
    private readonly handlers: WireHandlers,
  ) {
    this.socket = connect({ host, port, noDelay: true });
    this.socket.on('connect', () => {
      this.socket.write(
        `GET ${pathAndQuery} HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: YmVuY2gtbG9hZC1nZW4hIQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
    });
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (error) => this.finish(error.message));
    this.socket.on('close', () => this.finish('closed by peer'));
  }

  get isOpen(): boolean {
    return this.upgraded && !this.done;
  }

  /** Frames written between cork() and uncork() leave in one system call. */
  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  sendFrame(frame: Buffer): void {
    if (this.isOpen) this.socket.write(frame);
  }

  close(): void {
    if (this.done) return;
    if (this.upgraded) this.socket.end(encodeClientFrame(Buffer.from([0x03, 0xe8]), true, OPCODE_CLOSE));
    else this.socket.destroy();
    this.finish('closed by client');
  }

  private finish(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.socket.destroy();
    this.handlers.onClose(reason);
  }

  private receive(chunk: Buffer): void {
    let data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.buffered = undefined;
    if (!this.upgraded) {
      const end = data.indexOf(HEADER_END);
      if (end < 0) {
        this.buffered = data;
        return;
      }
      const statusLine = data.toString('latin1', 0, data.indexOf('\r\n'));
      if (!statusLine.startsWith('HTTP/1.1 101')) {
        this.finish(`upgrade refused: ${statusLine} ${data.toString('utf8', end + 4, Math.min(data.length, end + 200))}`);
        return;
      }
      this.upgraded = true;
      this.handlers.onOpen(this);
      data = data.subarray(end + 4);
    }
    this.parseFrames(data);
  }

  private parseFrames(data: Buffer): void {
    let offset = 0;
    while (!this.done) {
      if (data.length - offset < 2) break;
      const opcode = data[offset]! & 0x0f;
      let length = data[offset + 1]! & 0x7f;
      let headerLength = 2;
      if (length === 126) {
        if (data.length - offset < 4) break;
        length = data.readUInt16BE(offset + 2);
        headerLength = 4;
      } else if (length === 127) {
        if (data.length - offset < 10) break;
        length = Number(data.readBigUInt64BE(offset + 2));
        headerLength = 10;
      }
      if (data.length - offset < headerLength + length) break;
      const payload = data.subarray(offset + headerLength, offset + headerLength + length);
      offset += headerLength + length;
      if (opcode === OPCODE_TEXT || opcode === OPCODE_BINARY) {
        this.handlers.onMessage(payload, opcode === OPCODE_BINARY);
      } else if (opcode === OPCODE_PING) {
        this.socket.write(encodeClientFrame(payload, true, 0xa));
      } else if (opcode === OPCODE_CLOSE) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.finish(`closed by hub: ${code} ${payload.toString('utf8', 2)}`);
        return;
      }
    }
    if (offset < data.length) this.buffered = Buffer.from(data.subarray(offset));
  }
}
