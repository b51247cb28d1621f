import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonCodec, msgpackCodec } from '../src/protocol/codec.ts';
import { HubError } from '../src/protocol/errors.ts';
import { MSGPACK_MAX_DEPTH } from '../src/protocol/msgpack-guard.ts';
import { parseDriverMessage, parseRiderMessage } from '../src/protocol/parse.ts';
import { mp } from './support/wire-values.ts';

function refusal(run: () => unknown): HubError {
  try {
    run();
  } catch (error) {
    if (error instanceof HubError) return error;
    throw error;
  }
  throw new Error('the frame was accepted');
}

const locationEntries = (extra: Array<readonly [Uint8Array, Uint8Array]> = []) =>
  mp.map([[mp.str('t'), mp.str('loc')], [mp.str('seq'), mp.num(1)], [mp.str('lat'), mp.num(40.5)], [mp.str('lng'), mp.num(-73.5)], ...extra]);

describe('msgpack decoding refuses what the protocol does not use', () => {
  it.each([
    ['a timestamp', mp.ext(-1, new Uint8Array(4))],
    ['a msgpackr BigInt extension', mp.ext(0x42, Uint8Array.of(1))],
    ['a msgpackr typed-array extension', mp.ext(0x74, Uint8Array.of(1))],
    ['an application extension', mp.ext(7, new Uint8Array(3))],
    ['binary', Uint8Array.of(0xc4, 1, 0)],
    ['the never-used byte 0xc1', Uint8Array.of(0xc1)],
  ])('%s, at the top or as a field, is bad_frame', (_name, value) => {
    expect(refusal(() => parseDriverMessage(msgpackCodec, value)).code).toBe('bad_frame');
    expect(refusal(() => parseDriverMessage(msgpackCodec, locationEntries([[mp.str('heading'), value]]))).code).toBe('bad_frame');
  });

  it('refuses nesting deeper than the limit before recursing, at any depth the payload limit allows', () => {
    const deep = mp.raw(...Array.from({ length: 4000 }, () => 0x91), 0x01);
    expect(refusal(() => parseRiderMessage(msgpackCodec, deep)).message).toMatch(/nesting deeper than/);
    const justDeepEnough = mp.raw(...Array.from({ length: MSGPACK_MAX_DEPTH + 1 }, () => 0x91), 0x01);
    expect(refusal(() => parseRiderMessage(msgpackCodec, justDeepEnough)).code).toBe('bad_frame');
  });

  it('refuses lying length headers, non-string keys and trailing bytes', () => {
    for (const kind of ['str', 'array', 'map'] as const) {
      expect(refusal(() => parseDriverMessage(msgpackCodec, mp.lyingHeader(kind, 2 ** 32 - 1, Uint8Array.of(1)))).code).toBe('bad_frame');
    }
    expect(refusal(() => parseDriverMessage(msgpackCodec, mp.map([[mp.num(1), mp.num(2)]]))).code).toBe('bad_frame');
    expect(refusal(() => parseDriverMessage(msgpackCodec, mp.raw(locationEntries(), 0x00))).code).toBe('bad_frame');
  });

  it('reads 64-bit integers as numbers and refuses them by range', () => {
    const withSeq = (seq: Uint8Array) =>
      mp.map([
        [mp.str('t'), mp.str('loc')],
        [mp.str('seq'), seq],
        [mp.str('lat'), mp.num(1)],
        [mp.str('lng'), mp.num(1)],
      ]);
    expect(refusal(() => parseDriverMessage(msgpackCodec, withSeq(mp.u64(2n ** 64n - 1n)))).code).toBe('out_of_range');
    expect(refusal(() => parseDriverMessage(msgpackCodec, withSeq(mp.i64(-(2n ** 63n))))).code).toBe('out_of_range');
    expect(parseDriverMessage(msgpackCodec, withSeq(mp.u64(7n)))).toMatchObject({ t: 'loc', seq: 7 });
  });
});

describe('both encodings', () => {
  it.each([
    ['__proto__', '{"t":"loc","seq":1,"lat":1,"lng":1,"__proto__":{"polluted":true}}'],
    ['constructor', '{"t":"loc","seq":1,"lat":1,"lng":1,"constructor":{"prototype":{"polluted":true}}}'],
    ['an unknown field', '{"t":"loc","seq":1,"lat":1,"lng":1,"colour":"red"}'],
    ['a number that overflows to Infinity', '{"t":"loc","seq":1,"lat":1e999,"lng":1}'],
  ])('refuse %s with a typed error and pollute nothing', (_name, json) => {
    const asMsgpack = msgpackCodec.encode(JSON.parse(json) as object) as Uint8Array;
    for (const [codec, frame] of [
      [jsonCodec, json],
      [msgpackCodec, asMsgpack],
    ] as const) {
      expect(['invalid_field', 'out_of_range']).toContain(refusal(() => parseDriverMessage(codec, frame)).code);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuse -0, which JSON can carry and msgpack as a float', () => {
    expect(refusal(() => parseDriverMessage(jsonCodec, '{"t":"loc","seq":1,"lat":-0,"lng":1}')).code).toBe('invalid_field');
    expect(
      refusal(() =>
        parseDriverMessage(
          msgpackCodec,
          mp.map([
            [mp.str('t'), mp.str('loc')],
            [mp.str('seq'), mp.num(1)],
            [mp.str('lat'), mp.f64(-0)],
            [mp.str('lng'), mp.num(1)],
          ]),
        ),
      ).code,
    ).toBe('invalid_field');
  });

  it('still decode everything the hub and its clients encode', () => {
    const driver = fc.record({
      id: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      name: fc.string({ maxLength: 40 }),
      vehicleType: fc.constantFrom('economy', 'comfort', 'xl', 'van'),
      rating: fc.double({ min: 1, max: 5, noNaN: true }),
      lat: fc.double({ min: -90, max: 90, noNaN: true }),
      lng: fc.double({ min: -180, max: 180, noNaN: true }),
      distanceKm: fc.double({ min: 0, max: 50, noNaN: true }),
    });
    const result = fc.record({
      t: fc.constant('nearby.result'),
      id: fc.oneof(fc.string({ maxLength: 64 }), fc.integer()),
      drivers: fc.array(driver, { maxLength: 30 }),
      source: fc.constantFrom('redis', 'sql', 'memory'),
      ms: fc.double({ min: 0, max: 1e4, noNaN: true }),
    });
    fc.assert(
      fc.property(result, (message) => {
        expect(msgpackCodec.decode(msgpackCodec.encode(message) as Uint8Array)).toEqual(JSON.parse(JSON.stringify(message)));
      }),
    );

    const location = fc.record(
      {
        t: fc.constant('loc' as const),
        seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        lat: fc.double({ min: -90, max: 90, noNaN: true }).filter((n) => !Object.is(n, -0)),
        lng: fc.double({ min: -180, max: 180, noNaN: true }).filter((n) => !Object.is(n, -0)),
        ts: fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
        heading: fc.double({ min: 0, max: 360, noNaN: true }),
        speed: fc.double({ min: 0, max: 150, noNaN: true }),
      },
      { requiredKeys: ['t', 'seq', 'lat', 'lng'] },
    );
    fc.assert(
      fc.property(location, (frame) => {
        expect(parseDriverMessage(msgpackCodec, msgpackCodec.encode(frame) as Uint8Array)).toEqual(frame);
        expect(parseDriverMessage(jsonCodec, jsonCodec.encode(frame) as string)).toEqual(JSON.parse(JSON.stringify(frame)));
      }),
    );
  });
});
