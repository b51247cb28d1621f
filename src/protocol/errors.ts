/**
 * Stable error codes sent to clients in `{t:"error", code}` frames and used in
 * REST error bodies. Clients branch on these strings, so never rename one.
 */
export const ERROR_CODES = [
  'bad_frame', // bytes that are not valid JSON / msgpack, or not an object
  'unknown_type', // `t` missing or not a known message type
  'invalid_field', // a field is missing, has the wrong type, or is not finite
  'out_of_range', // lat/lng/radius/limit outside the documented bounds
  'overloaded', // the hub's pending queue is full; resend later
  'rate_limited', // the connection exceeded its message budget
  'unauthorized', // no valid credentials
  'forbidden', // credentials valid, action not allowed
  'not_found', // unknown driver
  'unavailable', // a store needed to answer is down
  'internal', // a bug on our side; details are logged, not sent
  'illegal_transition', // the ride's status does not allow this step; nothing changed
  'ride_in_progress', // the rider already has an open ride
  'subscription_limit', // the rider already holds SUBSCRIPTIONS_PER_RIDER open subscriptions
  'subscription_exists', // a subscription with this id is already open on the connection
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** An error that carries a stable code. Anything else reaching a client becomes `internal`. */
export class HubError extends Error {
  /** The `id` of the request that failed, echoed in the error frame when known. */
  requestId?: string | number;
  /** The `seq` of the `loc` frame that failed, echoed in the error frame when known. */
  seq?: number;
  /** The ride a failed ride action named, echoed in the error frame. */
  rideId?: string;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

/** The `{t:"error"}` frame for an error: its code and message, plus the request id, seq, ride and retry hint it carries. */
export function errorFrame(error: HubError): {
  t: 'error';
  code: ErrorCode;
  message: string;
  id?: string | number;
  seq?: number;
  rideId?: string;
  retryAfterMs?: number;
} {
  return {
    t: 'error',
    code: error.code,
    message: error.message,
    ...(error.requestId !== undefined && { id: error.requestId }),
    ...(error.seq !== undefined && { seq: error.seq }),
    ...(error.rideId !== undefined && { rideId: error.rideId }),
    ...(error.retryAfterMs !== undefined && { retryAfterMs: error.retryAfterMs }),
  };
}
