import type { Encoding } from './codec.ts';

/**
 * The `{t:"ack", seq}` frame, encoded without building a message object,
 * into buffers made once: acks are the hub's most frequent outbound frame
 * (one per driver per flush). The returned bytes are only valid until the
 * next call; a socket send copies them at once.
 */

// msgpack: fixmap of 2, "t" → "ack", "seq" → the number. A seq that fits in
// 32 bits is a uint32 (0xce); a larger one (up to 2^53) a float64 (0xcb):
// both decode to the same plain number everywhere.
const MSGPACK_HEAD = [0x82, 0xa1, 0x74, 0xa3, 0x61, 0x63, 0x6b, 0xa3, 0x73, 0x65, 0x71];
const msgpackUint32 = Uint8Array.from([...MSGPACK_HEAD, 0xce, 0, 0, 0, 0]);
const msgpackFloat64 = Uint8Array.from([...MSGPACK_HEAD, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0]);
const uint32View = new DataView(msgpackUint32.buffer);
const float64View = new DataView(msgpackFloat64.buffer);
const NUMBER_AT = MSGPACK_HEAD.length + 1;

// JSON: one buffer per digit count, so the frame is exactly as long as the text.
const JSON_HEAD = Buffer.from('{"t":"ack","seq":', 'latin1');
const MAX_DIGITS = String(Number.MAX_SAFE_INTEGER).length;
const jsonByDigits: Uint8Array[] = Array.from({ length: MAX_DIGITS + 1 }, (_, digits) => {
  const frame = new Uint8Array(JSON_HEAD.length + digits + 1);
  frame.set(JSON_HEAD);
  frame[frame.length - 1] = 0x7d; // }
  return frame;
});

function digitCount(value: number): number {
  let digits = 1;
  for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  return digits;
}

/** The ack frame for `seq` (a whole number from 0 to 2^53 - 1) in the given encoding. */
export function encodeAck(seq: number, encoding: Encoding): Uint8Array {
  if (encoding === 'msgpack') {
    if (seq <= 0xffffffff) {
      uint32View.setUint32(NUMBER_AT, seq);
      return msgpackUint32;
    }
    float64View.setFloat64(NUMBER_AT, seq);
    return msgpackFloat64;
  }
  const digits = digitCount(seq);
  const frame = jsonByDigits[digits]!;
  let rest = seq;
  for (let at = JSON_HEAD.length + digits - 1; at >= JSON_HEAD.length; at--) {
    frame[at] = 0x30 + (rest % 10);
    rest = Math.floor(rest / 10);
  }
  return frame;
}
