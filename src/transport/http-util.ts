import type { ErrorCode } from '../protocol/errors.ts';
import type { HttpResponse } from './uws.ts';

const STATUS_BY_CODE: Record<ErrorCode, string> = {
  bad_frame: '400 Bad Request',
  unknown_type: '400 Bad Request',
  invalid_field: '400 Bad Request',
  out_of_range: '400 Bad Request',
  overloaded: '503 Service Unavailable',
  rate_limited: '429 Too Many Requests',
  unauthorized: '401 Unauthorized',
  forbidden: '403 Forbidden',
  not_found: '404 Not Found',
  unavailable: '503 Service Unavailable',
  internal: '500 Internal Server Error',
  illegal_transition: '409 Conflict',
  ride_in_progress: '409 Conflict',
  subscription_limit: '429 Too Many Requests',
  subscription_exists: '409 Conflict',
};

export function httpStatusFor(code: ErrorCode): string {
  return STATUS_BY_CODE[code];
}

/** Tracks whether the client went away, so nothing is written to a dead response. */
export interface ResponseState {
  aborted: boolean;
}

export function watchAbort(res: HttpResponse): ResponseState {
  const state = { aborted: false };
  res.onAborted(() => {
    state.aborted = true;
  });
  return state;
}

export function sendJson(res: HttpResponse, state: ResponseState, status: string, body: unknown, extraHeaders: Record<string, string> = {}): void {
  if (state.aborted) return;
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', 'application/json');
    for (const [name, value] of Object.entries(extraHeaders)) res.writeHeader(name, value);
    res.end(JSON.stringify(body));
  });
}

export function sendText(
  res: HttpResponse,
  state: ResponseState,
  status: string,
  contentType: string,
  body: string | Buffer,
  extraHeaders: Record<string, string> = {},
): void {
  if (state.aborted) return;
  res.cork(() => {
    res.writeStatus(status).writeHeader('content-type', contentType);
    for (const [name, value] of Object.entries(extraHeaders)) res.writeHeader(name, value);
    res.end(body);
  });
}

export class BodyTooLargeError extends Error {}

/** Collects a request body up to `maxBytes`. Chunks are copied: uWS reuses their memory after the callback. */
export function readBody(res: HttpResponse, state: ResponseState, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    res.onData((chunk, isLast) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > maxBytes) {
        failed = true;
        reject(new BodyTooLargeError(`body over ${maxBytes} bytes`));
        return;
      }
      chunks.push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) resolve(Buffer.concat(chunks));
    });
    if (state.aborted) reject(new Error('request aborted'));
  });
}
