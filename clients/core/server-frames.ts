import type { RawData } from 'ws';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';

/**
 * Decodes a hub frame by its WebSocket opcode: the hub answers in the
 * encoding of the frame it replies to, and sends binary only as msgpack.
 * Anything that is not a valid server message is rejected as undefined,
 * so callers never branch on garbage.
 */
export function decodeServerFrame(data: RawData, isBinary: boolean): ServerMessage | undefined {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? new Uint8Array(data) : data;
  try {
    return decodeServerMessage(isBinary ? bytes : bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}
