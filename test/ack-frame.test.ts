import { expect, it } from 'vitest';
import { encodeAck } from '../src/protocol/ack-frame.ts';
import { jsonCodec, msgpackCodec } from '../src/protocol/codec.ts';

const SEQS = [0, 1, 9, 10, 127, 128, 255, 256, 65_535, 65_536, 999_999, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];

it('encodes every seq as the same ack the generic codecs produce and decode', () => {
  for (const seq of SEQS) {
    const json = encodeAck(seq, 'json');
    expect(Buffer.from(json).toString('utf8')).toBe(JSON.stringify({ t: 'ack', seq }));
    expect(jsonCodec.decode(new Uint8Array(json))).toEqual({ t: 'ack', seq });
    expect(msgpackCodec.decode(new Uint8Array(encodeAck(seq, 'msgpack')))).toEqual({ t: 'ack', seq });
  }
});

it('reuses its buffers: a frame is valid until the next call', () => {
  const first = encodeAck(5, 'msgpack');
  const copy = Uint8Array.from(first);
  expect(encodeAck(6, 'msgpack')).toBe(first);
  expect(msgpackCodec.decode(copy)).toEqual({ t: 'ack', seq: 5 });
});
