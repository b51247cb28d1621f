import type { z } from 'zod';
import { type Codec } from './codec.ts';
import { HubError } from './errors.ts';
import { driverMessageSchemas, riderMessageSchemas, type DriverMessage, type RiderMessage } from './messages.ts';

type SchemaTable = Record<string, z.ZodType>;

/**
 * Decodes one frame and validates it against the schema its `t` names.
 * Every failure is a HubError with a stable code; nothing else escapes.
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
  if (typeof type !== 'string') throw new HubError('unknown_type', 'field "t" must be a string');
  const schema = Object.hasOwn(schemas, type) ? schemas[type] : undefined;
  if (!schema) throw new HubError('unknown_type', `unknown message type "${type.slice(0, 32)}"`);
  const result = schema.safeParse(raw);
  if (result.success) return result.data as T;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(root)';
  const rangeIssue = issue.code === 'too_big' || issue.code === 'too_small';
  const error = new HubError(rangeIssue ? 'out_of_range' : 'invalid_field', `${field}: ${issue.message}`);
  error.requestId = requestIdOf(raw);
  throw error;
}

export function parseDriverMessage(codec: Codec, frame: Uint8Array | string): DriverMessage {
  return parseWith<DriverMessage>(codec, frame, driverMessageSchemas);
}

export function parseRiderMessage(codec: Codec, frame: Uint8Array | string): RiderMessage {
  return parseWith<RiderMessage>(codec, frame, riderMessageSchemas);
}

function requestIdOf(raw: object): string | number | undefined {
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) ? id : undefined;
}
