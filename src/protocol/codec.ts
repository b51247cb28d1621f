import { Packr } from 'msgpackr';
import { assertPlainMsgpack } from './msgpack-guard.ts';

export type Encoding = 'json' | 'msgpack';

/** A pluggable wire encoder. Both directions work on whole frames. */
export interface Codec {
  readonly encoding: Encoding;
  encode(message: object): Uint8Array | string;
  /** Throws on undecodable input; the caller maps that to `bad_frame`. */
  decode(frame: Uint8Array | string): unknown;
}

// Records and structured clones are msgpackr extensions that other msgpack
// implementations cannot read; plain maps keep the wire interoperable.
// int64AsType 'number' keeps BigInt out of the message objects.
const packr = new Packr({
  useRecords: false,
  structuredClone: false,
  mapsAsObjects: true,
  int64AsType: 'number',
  moreTypes: false,
});

export const msgpackCodec: Codec = {
  encoding: 'msgpack',
  encode: (message) => packr.pack(message),
  decode: (frame): unknown => {
    const bytes = typeof frame === 'string' ? textEncoder.encode(frame) : frame;
    assertPlainMsgpack(bytes);
    return packr.unpack(bytes);
  },
};

export const jsonCodec: Codec = {
  encoding: 'json',
  encode: (message) => JSON.stringify(message),
  decode: (frame): unknown => JSON.parse(typeof frame === 'string' ? frame : textDecoder.decode(frame)),
};

const textDecoder = new TextDecoder('utf-8', { fatal: true });
const textEncoder = new TextEncoder();

export function codecFor(encoding: Encoding): Codec {
  return encoding === 'msgpack' ? msgpackCodec : jsonCodec;
}
