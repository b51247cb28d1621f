import { encodeClientFrame } from '../../clients/core/wire-socket.ts';
import { msgpackCodec } from '../../src/protocol/codec.ts';

/** One client message as a binary WebSocket frame: every fleet's sockets are opened with `encoding=msgpack`. */
export function msgpackFrame(message: object): Buffer {
  // The codec interface also allows text; msgpack always encodes to bytes.
  return encodeClientFrame(msgpackCodec.encode(message) as Uint8Array, true);
}
