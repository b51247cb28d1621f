/**
 * Hand-written msgpack and JSON, for frames a well-behaved encoder would never
 * produce: extension types, 64-bit integers, float32 NaN, -0, lying length
 * headers, `__proto__` keys. A WireValue holds one value in both encodings, or
 * in one only when the other cannot express it.
 */
export interface WireValue {
  msgpack?: Uint8Array | undefined;
  json?: string | undefined;
}

export type WireEntries = ReadonlyArray<readonly [key: string, value: WireValue]>;

const utf8 = new TextEncoder();

function bytes(...parts: Array<number | Uint8Array>): Uint8Array {
  const chunks = parts.map((part) => (typeof part === 'number' ? Uint8Array.of(part) : part));
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function uint(value: number, width: 1 | 2 | 4): Uint8Array {
  const out = new Uint8Array(width);
  for (let index = width - 1, rest = value; index >= 0; index--, rest = Math.floor(rest / 256)) out[index] = rest % 256;
  return out;
}

export const mp = {
  nil: () => Uint8Array.of(0xc0),
  bool: (value: boolean) => Uint8Array.of(value ? 0xc3 : 0xc2),
  str(value: string): Uint8Array {
    const data = utf8.encode(value);
    if (data.length < 32) return bytes(0xa0 | data.length, data);
    if (data.length < 256) return bytes(0xd9, data.length, data);
    if (data.length < 65_536) return bytes(0xda, uint(data.length, 2), data);
    return bytes(0xdb, uint(data.length, 4), data);
  },
  f64(value: number): Uint8Array {
    const view = new DataView(new ArrayBuffer(9));
    view.setUint8(0, 0xcb);
    view.setFloat64(1, value);
    return new Uint8Array(view.buffer);
  },
  f32(value: number): Uint8Array {
    const view = new DataView(new ArrayBuffer(5));
    view.setUint8(0, 0xca);
    view.setFloat32(1, value);
    return new Uint8Array(view.buffer);
  },
  /** Small integers as int32, anything else as float64. */
  num(value: number): Uint8Array {
    if (!Number.isInteger(value) || Object.is(value, -0) || Math.abs(value) > 2_147_483_647) return mp.f64(value);
    const view = new DataView(new ArrayBuffer(5));
    view.setUint8(0, 0xd2);
    view.setInt32(1, value);
    return new Uint8Array(view.buffer);
  },
  u64(value: bigint): Uint8Array {
    const view = new DataView(new ArrayBuffer(9));
    view.setUint8(0, 0xcf);
    view.setBigUint64(1, value);
    return new Uint8Array(view.buffer);
  },
  i64(value: bigint): Uint8Array {
    const view = new DataView(new ArrayBuffer(9));
    view.setUint8(0, 0xd3);
    view.setBigInt64(1, value);
    return new Uint8Array(view.buffer);
  },
  array(items: Uint8Array[]): Uint8Array {
    const header = items.length < 16 ? [0x90 | items.length] : items.length < 65_536 ? [0xdc, uint(items.length, 2)] : [0xdd, uint(items.length, 4)];
    return bytes(...header, ...items);
  },
  map(entries: Array<readonly [Uint8Array, Uint8Array]>): Uint8Array {
    const header = entries.length < 16 ? [0x80 | entries.length] : entries.length < 65_536 ? [0xde, uint(entries.length, 2)] : [0xdf, uint(entries.length, 4)];
    return bytes(...header, ...entries.flat());
  },
  ext(type: number, data: Uint8Array): Uint8Array {
    const code = type & 0xff;
    const fixed: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };
    if (fixed[data.length] !== undefined) return bytes(fixed[data.length]!, code, data);
    if (data.length < 256) return bytes(0xc7, data.length, code, data);
    if (data.length < 65_536) return bytes(0xc8, uint(data.length, 2), code, data);
    return bytes(0xc9, uint(data.length, 4), code, data);
  },
  /** A 32-bit length header that promises far more than follows. */
  lyingHeader(kind: 'str' | 'bin' | 'array' | 'map', declared: number, tail: Uint8Array): Uint8Array {
    const code = { str: 0xdb, bin: 0xc6, array: 0xdd, map: 0xdf }[kind];
    return bytes(code, uint(declared, 4), tail);
  },
  raw: bytes,
};

/** A value both encoders can write faithfully (no -0, no non-finite numbers). */
export function plain(value: unknown): WireValue {
  return { msgpack: mpValue(value), json: JSON.stringify(value) };
}

function mpValue(value: unknown): Uint8Array {
  if (value === null) return mp.nil();
  if (typeof value === 'boolean') return mp.bool(value);
  if (typeof value === 'number') return mp.num(value);
  if (typeof value === 'string') return mp.str(value);
  if (Array.isArray(value)) return mp.array(value.map(mpValue));
  if (typeof value === 'object') return mp.map(Object.entries(value).map(([key, item]) => [mp.str(key), mpValue(item)] as const));
  throw new TypeError(`cannot encode ${typeof value}`);
}

/** An object frame from entries; undefined when one of its values has no form in this encoding. */
export function encodeEntries(entries: WireEntries, encoding: 'json' | 'msgpack'): Uint8Array | string | undefined {
  if (encoding === 'msgpack') {
    if (entries.some(([, value]) => value.msgpack === undefined)) return undefined;
    return mp.map(entries.map(([key, value]) => [mp.str(key), value.msgpack!] as const));
  }
  if (entries.some(([, value]) => value.json === undefined)) return undefined;
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value.json}`).join(',')}}`;
}
