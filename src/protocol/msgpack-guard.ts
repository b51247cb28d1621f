/**
 * A structural check of a msgpack frame before msgpackr sees it. msgpackr is
 * a general-purpose decoder: extension types become Dates, BigInts, typed
 * arrays or `undefined`, and deep nesting recurses until the stack overflows.
 * The wire protocol is plain maps of strings and numbers, so everything else is
 * refused here, in one linear pass with no allocation and no recursion.
 */
export const MSGPACK_MAX_DEPTH = 8;

// Reused across calls: the check is synchronous, so it is never re-entered.
// Module state rather than closures: the check runs for every frame, and
// three closures per frame were a measurable share of the hub's CPU at its
// ingest ceiling.
const remainingItems = new Float64Array(MSGPACK_MAX_DEPTH);
const containerIsMap = new Uint8Array(MSGPACK_MAX_DEPTH);
let bytes: Uint8Array = new Uint8Array(0);
let length = 0;
let position = 0;
let depth = 0;

export class MsgpackShapeError extends Error {}

function skip(count: number): void {
  if (count > length - position) throw new MsgpackShapeError('truncated msgpack value');
  position += count;
}

function readLength(width: 1 | 2 | 4): number {
  if (width > length - position) throw new MsgpackShapeError('truncated msgpack length');
  let value = 0;
  for (let index = 0; index < width; index++) value = value * 256 + bytes[position + index]!;
  position += width;
  return value;
}

function open(items: number, isMap: boolean): void {
  // Every item takes at least one byte: a declared size beyond the frame is a lie, refused before anything is allocated.
  if (items > length - position) throw new MsgpackShapeError('msgpack container declares more items than the frame holds');
  if (items === 0) return;
  if (depth === MSGPACK_MAX_DEPTH) throw new MsgpackShapeError(`msgpack nesting deeper than ${MSGPACK_MAX_DEPTH}`);
  remainingItems[depth] = items;
  containerIsMap[depth] = isMap ? 1 : 0;
  depth += 1;
}

/** Throws MsgpackShapeError unless the frame is exactly one value made of nil, booleans, numbers, strings, arrays and string-keyed maps. */
export function assertPlainMsgpack(frame: Uint8Array): void {
  bytes = frame;
  length = frame.length;
  position = 0;
  depth = 0;
  let readTopLevel = false;

  for (;;) {
    if (depth > 0 && remainingItems[depth - 1] === 0) {
      depth -= 1;
      continue;
    }
    if (depth === 0 && readTopLevel) break;
    if (position >= length) throw new MsgpackShapeError('truncated msgpack frame');
    let expectKey = false;
    if (depth > 0) {
      expectKey = containerIsMap[depth - 1] === 1 && remainingItems[depth - 1]! % 2 === 0;
      remainingItems[depth - 1]! -= 1;
    } else {
      readTopLevel = true;
    }
    const byte = bytes[position++]!;
    const isString = (byte >= 0xa0 && byte <= 0xbf) || byte === 0xd9 || byte === 0xda || byte === 0xdb;
    if (expectKey && !isString) throw new MsgpackShapeError('msgpack map keys must be strings');

    if (byte <= 0x7f || byte >= 0xe0 || byte === 0xc0 || byte === 0xc2 || byte === 0xc3) continue;
    if (byte <= 0x8f) open((byte & 0x0f) * 2, true);
    else if (byte <= 0x9f) open(byte & 0x0f, false);
    else if (byte <= 0xbf) skip(byte & 0x1f);
    else {
      switch (byte) {
        case 0xcc:
        case 0xd0:
          skip(1);
          break;
        case 0xcd:
        case 0xd1:
          skip(2);
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          skip(4);
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          skip(8);
          break;
        case 0xd9:
          skip(readLength(1));
          break;
        case 0xda:
          skip(readLength(2));
          break;
        case 0xdb:
          skip(readLength(4));
          break;
        case 0xdc:
          open(readLength(2), false);
          break;
        case 0xdd:
          open(readLength(4), false);
          break;
        case 0xde:
          open(readLength(2) * 2, true);
          break;
        case 0xdf:
          open(readLength(4) * 2, true);
          break;
        case 0xc4:
        case 0xc5:
        case 0xc6:
          throw new MsgpackShapeError('msgpack binary values are not part of the protocol');
        case 0xc1:
          throw new MsgpackShapeError('0xc1 is never used in msgpack');
        default:
          // 0xc7-0xc9 and 0xd4-0xd8: extensions, timestamps included.
          throw new MsgpackShapeError(`msgpack extension types are not part of the protocol (0x${byte.toString(16)})`);
      }
    }
  }
  if (position !== length) throw new MsgpackShapeError('bytes after the end of the msgpack value');
}
