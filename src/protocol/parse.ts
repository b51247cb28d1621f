import type { z } from 'zod';
import { jsonCodec, msgpackCodec, type Codec } from './codec.ts';
import { HubError } from './errors.ts';
import { driverMessageSchemas, riderMessageSchemas, serverMessageSchemas, type DriverMessage, type RiderMessage, type ServerMessage } from './messages.ts';
import { hubErrorFromZod } from './zod-errors.ts';

type SchemaTable = Readonly<Record<string, z.ZodType>>;

/**
 * Decodes one frame and validates it against the schema its `t` names in
 * `schemas`. Every failure is a HubError with a stable code; nothing else
 * escapes. Once the frame is an object, its readable `id` (and a `loc`
 * frame's `seq`) ride on the error so the reply can echo them.
 */
function parseWith<T>(codec: Codec, frame: Uint8Array | string, schemas: SchemaTable): T {
  let raw: unknown;
  try {
    raw = codec.decode(frame);
  } catch (error) {
    throw new HubError('bad_frame', `undecodable ${codec.encoding} frame: ${(error as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new HubError('bad_frame', 'a frame must be an object');
  }
  const type = (raw as { t?: unknown }).t;
  const schema = typeof type === 'string' && Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  const result = schema?.safeParse(raw);
  if (result?.success) return result.data as T;
  const error = result
    ? hubErrorFromZod(result.error, raw, 'frame', schema)
    : typeof type === 'string'
      ? new HubError('unknown_type', `unknown message type "${type.slice(0, 32)}"; expected one of ${Object.keys(schemas).join(', ')}`)
      : new HubError('unknown_type', 'field "t" must be a string naming the message type');
  refsOf(raw, error);
  throw error;
}

function refsOf(raw: object, error: HubError): void {
  const { id, seq, t } = raw as { id?: unknown; seq?: unknown; t?: unknown };
  if (typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))) error.requestId = id;
  if (t === 'loc' && typeof seq === 'number' && Number.isSafeInteger(seq)) error.seq = seq;
}

export function parseDriverMessage(codec: Codec, frame: Uint8Array | string): DriverMessage {
  return parseWith<DriverMessage>(codec, frame, driverMessageSchemas);
}

export function parseRiderMessage(codec: Codec, frame: Uint8Array | string): RiderMessage {
  return parseWith<RiderMessage>(codec, frame, riderMessageSchemas);
}

/**
 * Decodes a frame the hub sent: text is JSON, binary is msgpack (the hub
 * sends binary only as msgpack). Returns a validated ServerMessage or throws
 * a HubError (`bad_frame`, `unknown_type`, `invalid_field`, `out_of_range`).
 * Clients use this and nothing else: no casts of decoded frames.
 */
export function decodeServerMessage(data: string | ArrayBuffer | Uint8Array): ServerMessage {
  if (typeof data === 'string') return parseWith<ServerMessage>(jsonCodec, data, serverMessageSchemas);
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  return parseWith<ServerMessage>(msgpackCodec, bytes, serverMessageSchemas);
}
