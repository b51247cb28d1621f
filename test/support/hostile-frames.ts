import fc from 'fast-check';
import { encodeEntries, mp, plain, type WireEntries, type WireValue } from './wire-values.ts';

export type Target = 'driver' | 'rider';
export type WireEncoding = 'json' | 'msgpack';

/** One hostile frame: where it goes, how it is framed, and whether only a close is an acceptable answer. */
export interface HostileCase {
  target: Target;
  binary: boolean;
  payload: Uint8Array | string;
  mustClose: boolean;
}

type FieldKind = 'number' | 'string' | 'id';

interface BaseFrame {
  target: Target;
  entries: WireEntries;
  kinds: Record<string, FieldKind>;
}

const NOW = Date.now();

// Valid frames to corrupt. The location frame's seq is far above anything the
// hostile driver has committed, so a frame that slipped through would be written.
const LOCATION: BaseFrame = {
  target: 'driver',
  entries: [
    ['t', plain('loc')],
    ['seq', plain(1_000_000)],
    ['lat', plain(40.7)],
    ['lng', plain(-73.9)],
    ['ts', plain(NOW)],
    ['heading', plain(90)],
    ['speed', plain(10)],
    ['accuracy', plain(5)],
  ],
  kinds: { t: 'string', seq: 'number', lat: 'number', lng: 'number', ts: 'number', heading: 'number', speed: 'number', accuracy: 'number' },
};
const STATUS: BaseFrame = {
  target: 'driver',
  entries: [
    ['t', plain('status')],
    ['status', plain('online')],
  ],
  kinds: { t: 'string', status: 'string' },
};
const NEARBY: BaseFrame = {
  target: 'rider',
  entries: [
    ['t', plain('nearby')],
    ['id', plain('q1')],
    ['lat', plain(40.75)],
    ['lng', plain(-73.98)],
    ['radiusKm', plain(3)],
    ['limit', plain(5)],
    ['vehicleType', plain('comfort')],
    ['minRating', plain(4)],
  ],
  kinds: { t: 'string', id: 'id', lat: 'number', lng: 'number', radiusKm: 'number', limit: 'number', vehicleType: 'string', minRating: 'number' },
};
const BASES = [LOCATION, STATUS, NEARBY];

const anyBase = fc.constantFrom(...BASES);
const target = fc.constantFrom<Target>('driver', 'rider');

function replaced(entries: WireEntries, key: string, value: WireValue): WireEntries {
  return entries.map(([name, current]) => [name, name === key ? value : current] as const);
}

function fieldsOf(base: BaseFrame, kinds: FieldKind[]): string[] {
  return Object.entries(base.kinds)
    .filter(([, kind]) => kinds.includes(kind))
    .map(([name]) => name);
}

/** Frames the base with one field's value swapped for a value of the given arbitrary, in one encoding. */
function withFieldValue(encoding: WireEncoding, bases: BaseFrame[], kinds: FieldKind[], value: (kind: FieldKind) => fc.Arbitrary<WireValue>) {
  return fc
    .constantFrom(...bases)
    .chain((base) =>
      fc.constantFrom(...fieldsOf(base, kinds)).chain((field) => value(base.kinds[field]!).map((v) => ({ base, entries: replaced(base.entries, field, v) }))),
    )
    .map(({ base, entries }) => frame(base.target, encoding, entries))
    .filter((hostile): hostile is HostileCase => hostile !== undefined);
}

function frame(to: Target, encoding: WireEncoding, entries: WireEntries, mustClose = false): HostileCase | undefined {
  const payload = encodeEntries(entries, encoding);
  return payload === undefined ? undefined : { target: to, binary: encoding === 'msgpack', payload, mustClose };
}

const msgpackOnly = (bytes: Uint8Array): WireValue => ({ msgpack: bytes });
const jsonOnly = (text: string): WireValue => ({ json: text });

// ---- the categories of the issue ----

// Any Unicode scalar value. (fc.string's 'binary' unit would do, but takes seconds to build.)
const randomText = fc
  .array(
    fc.integer({ min: 0, max: 0x10ffff }).filter((code) => code < 0xd800 || code > 0xdfff),
    { maxLength: 300 },
  )
  .map((codes) => String.fromCodePoint(...codes));

function randomBytes(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  if (encoding === 'msgpack') return fc.record({ target, payload: fc.uint8Array({ maxLength: 512 }) }).map((c) => ({ ...c, binary: true, mustClose: false }));
  // Text frames: random text, and random bytes that are mostly not UTF-8 at all.
  return fc
    .record({
      target,
      payload: fc.oneof(randomText, fc.uint8Array({ maxLength: 300 })),
    })
    .map((c) => ({ ...c, binary: false, mustClose: false }));
}

function truncated(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  return anyBase.chain((base) => {
    const full = encodeEntries(base.entries, encoding)!;
    return fc
      .nat({ max: full.length - 1 })
      .map((cut) => ({ target: base.target, binary: encoding === 'msgpack', payload: full.slice(0, cut), mustClose: false }));
  });
}

const TWO_POW_53 = 2n ** 53n;

function extensionsAndBigNumbers(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  const msgpackValues = fc.oneof(
    fc.record({ type: fc.integer({ min: -128, max: 127 }), data: fc.uint8Array({ maxLength: 64 }) }).map(({ type, data }) => mp.ext(type, data)),
    fc
      .constantFrom(4, 8, 12)
      .chain((length) => fc.uint8Array({ minLength: length, maxLength: length }))
      .map((data) => mp.ext(-1, data)),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((data) => mp.ext(0x42, data)),
    fc.bigInt({ min: TWO_POW_53, max: 2n ** 64n - 1n }).map((value) => mp.u64(value)),
    fc.bigInt({ min: -(2n ** 63n), max: -TWO_POW_53 }).map((value) => mp.i64(value)),
  );
  const jsonValues = fc.oneof(
    fc
      .tuple(fc.boolean(), fc.integer({ min: 1, max: 9 }), fc.stringMatching(/^[0-9]{16,400}$/))
      .map(([negative, lead, digits]) => `${negative ? '-' : ''}${lead}${digits}`),
    fc.tuple(fc.boolean(), fc.integer({ min: 16, max: 308 })).map(([negative, exponent]) => `${negative ? '-' : ''}1e${exponent}`),
  );
  const inField = withFieldValue(encoding, BASES, ['number', 'string', 'id'], () =>
    encoding === 'msgpack' ? msgpackValues.map(msgpackOnly) : jsonValues.map(jsonOnly),
  );
  if (encoding === 'json') return inField;
  return fc.oneof(
    inField,
    fc.record({ target, payload: msgpackValues }).map((c) => ({ ...c, binary: true, mustClose: false })),
  );
}

function deepNesting(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  const nested = fc
    .record({ depth: fc.integer({ min: 2, max: encoding === 'msgpack' ? 1200 : 600 }), maps: fc.boolean() })
    .map(({ depth, maps }): WireValue => {
      if (encoding === 'msgpack') {
        const level = maps ? mp.raw(0x81, mp.str('a')) : Uint8Array.of(0x91);
        return msgpackOnly(mp.raw(...Array.from({ length: depth }, () => level), 0x01));
      }
      return jsonOnly(maps ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`);
    });
  const inField = withFieldValue(encoding, BASES, ['number', 'string', 'id'], () => nested);
  const whole = fc.record({ target, value: nested }).map(({ target: to, value }) => ({
    target: to,
    binary: encoding === 'msgpack',
    payload: encoding === 'msgpack' ? value.msgpack! : value.json!,
    mustClose: false,
  }));
  return fc.oneof(inField, whole);
}

function hugeStringsAndArrays(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  const big = fc.oneof(
    fc.tuple(fc.integer({ min: 65, max: 3800 }), fc.constantFrom('x', 'é', '0', '"')).map(([length, char]) => plain(char.repeat(length))),
    fc.integer({ min: 16, max: 1500 }).map((length) => plain(Array.from({ length }, () => 1))),
    fc.integer({ min: 16, max: 250 }).map((count) => plain(Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, 1])))),
  );
  const lying = fc
    .record({
      kind: fc.constantFrom<'str' | 'bin' | 'array' | 'map'>('str', 'bin', 'array', 'map'),
      declared: fc.integer({ min: 1000, max: 2 ** 32 - 1 }),
      tail: fc.uint8Array({ maxLength: 16 }),
    })
    .map(({ kind, declared, tail }) => msgpackOnly(mp.lyingHeader(kind, declared, tail)));
  const values = encoding === 'msgpack' ? fc.oneof(big, lying) : big;
  const inField = withFieldValue(encoding, BASES, ['number', 'string', 'id'], () => values);
  const longKey = fc
    .record({ base: anyBase, length: fc.integer({ min: 65, max: 3500 }) })
    .map(({ base, length }) => frame(base.target, encoding, [...base.entries, ['k'.repeat(length), plain(1)]]))
    .filter((hostile): hostile is HostileCase => hostile !== undefined);
  return fc.oneof(inField, longKey);
}

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'] as const;

function protoKeys(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  const payloadValue = fc.constantFrom(plain({ polluted: true }), plain({ polluted: { deep: true } }), plain(1), plain('x'), plain(null), plain([1]));
  const keyedObject = (key: string, value: WireValue): WireValue => ({
    msgpack: mp.map([[mp.str(key), value.msgpack!]]),
    json: `{${JSON.stringify(key)}:${value.json}}`,
  });
  const key = fc.constantFrom(...PROTO_KEYS);
  const extraKey = fc
    .record({ base: anyBase, key, value: payloadValue })
    .map(({ base, key: name, value }) => frame(base.target, encoding, [...base.entries, [name, value]]));
  const asType = fc.record({ base: anyBase, key }).map(({ base, key: name }) => frame(base.target, encoding, replaced(base.entries, 't', plain(name))));
  const nested = fc
    .record({ base: anyBase, key, value: payloadValue })
    .chain(({ base, key: name, value }) =>
      fc.constantFrom(...Object.keys(base.kinds)).map((field) => frame(base.target, encoding, replaced(base.entries, field, keyedObject(name, value)))),
    );
  return fc.oneof(extraKey, asType, nested).filter((hostile): hostile is HostileCase => hostile !== undefined);
}

function nonFiniteAndNegativeZero(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  const values =
    encoding === 'msgpack'
      ? fc.constantFrom(...[Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0].flatMap((n) => [mp.f64(n), mp.f32(n)])).map(msgpackOnly)
      : fc.constantFrom('-0', '-0.0', '-0e3', '1e999', '-1e999', '1E400').map(jsonOnly);
  return withFieldValue(encoding, [LOCATION, NEARBY], ['number', 'id'], () => values);
}

function wrongTypes(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  const shared = [
    fc.boolean().map(plain),
    fc.constant(plain(null)),
    fc.array(fc.integer(), { maxLength: 3 }).map(plain),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }).map(plain),
  ];
  const byKind: Record<FieldKind, fc.Arbitrary<WireValue>> = {
    number: fc.oneof(fc.string({ maxLength: 20 }).map(plain), ...shared),
    string: fc.oneof(
      fc.integer().map(plain),
      fc
        .double({ noNaN: true, noDefaultInfinity: true })
        .filter((n) => !Object.is(n, -0))
        .map(plain),
      ...shared,
    ),
    id: fc.oneof(
      fc
        .double({ noNaN: true, noDefaultInfinity: true })
        .filter((n) => !Number.isInteger(n))
        .map(plain),
      ...shared,
    ),
  };
  return withFieldValue(encoding, BASES, ['number', 'string', 'id'], (kind) => byKind[kind]);
}

function unknownFields(encoding: WireEncoding): fc.Arbitrary<HostileCase> {
  return anyBase
    .chain((base) =>
      fc
        .uniqueArray(
          fc.string({ minLength: 1, maxLength: 30 }).filter((key) => !(key in base.kinds)),
          { minLength: 1, maxLength: 10 },
        )
        .chain((keys) =>
          fc
            .array(fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.boolean(), fc.constant(null)), { minLength: keys.length, maxLength: keys.length })
            .map((values) => ({ keys, values })),
        )
        .map(({ keys, values }) => frame(base.target, encoding, [...base.entries, ...keys.map((key, index) => [key, plain(values[index])] as const)])),
    )
    .filter((hostile): hostile is HostileCase => hostile !== undefined);
}

/** Frames over WS_MAX_PAYLOAD_BYTES (the test hub uses the default, 4096): the only right answer is a close. */
function oversized(encoding: WireEncoding, maxPayloadBytes: number): fc.Arbitrary<HostileCase> {
  const size = fc.integer({ min: maxPayloadBytes + 1, max: maxPayloadBytes * 4 });
  const padded = fc
    .record({ base: anyBase, size })
    .map(({ base, size: length }) => frame(base.target, encoding, [...base.entries, ['pad', plain('x'.repeat(length))]], true)!);
  const noise = fc
    .record({ target, size })
    .chain(({ target: to, size: length }) =>
      fc
        .uint8Array({ minLength: length, maxLength: length })
        .map((payload) => ({ target: to, binary: encoding === 'msgpack', payload: encoding === 'msgpack' ? payload : 'x'.repeat(length), mustClose: true })),
    );
  return fc.oneof(padded, noise);
}

export const HOSTILE_CATEGORIES = {
  'random bytes': randomBytes,
  'truncated frames': truncated,
  'extension types, BigInt, timestamps, huge integers': extensionsAndBigNumbers,
  'deep nesting': deepNesting,
  'huge strings and arrays': hugeStringsAndArrays,
  '__proto__ / constructor keys': protoKeys,
  'NaN, ±Infinity and -0': nonFiniteAndNegativeZero,
  'wrong types in every field': wrongTypes,
  'unknown fields': unknownFields,
} as const satisfies Record<string, (encoding: WireEncoding) => fc.Arbitrary<HostileCase>>;

export { oversized };
