import type { RawData } from 'ws';
import { jsonCodec, msgpackCodec } from '../../src/protocol/codec.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';

/**
 * Decodes a hub frame by its WebSocket opcode: the hub answers in the
 * encoding of the frame it replies to, and sends binary only as msgpack.
 * Anything that is not an object with a string `t` is rejected as undefined,
 * so callers never branch on garbage.
 */
export function decodeServerFrame(data: RawData, isBinary: boolean): ServerMessage | undefined {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  let message: unknown;
  try {
    message = isBinary ? msgpackCodec.decode(bytes) : jsonCodec.decode(bytes);
  } catch {
    return undefined;
  }
  const looksValid =
    message !== null && typeof message === 'object' && typeof (message as { t?: unknown }).t === 'string';
  return looksValid ? (message as ServerMessage) : undefined;
}
