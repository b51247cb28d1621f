import { signToken } from '../../src/public/tokens.ts';
import type { TokenSpec } from './load-protocol.ts';

export type TokenSubject = { role: 'driver'; driverId: number } | { role: 'rider'; riderId: string };

/** Longer than any benchmark run. */
const TOKEN_TTL = '2h';

/** A token for one connection or REST caller, signed with the project's own token code. */
export function tokenFor(spec: TokenSpec, subject: TokenSubject): Promise<string> {
  return signToken({
    role: subject.role,
    subject: subject.role === 'driver' ? subject.driverId : subject.riderId,
    ttl: TOKEN_TTL,
    secret: spec.secret,
  });
}

/** The `&token=…` part of a socket URL, or nothing when the hub runs without authentication. */
export async function tokenQuery(spec: TokenSpec | undefined, subject: TokenSubject): Promise<string> {
  return spec ? `&token=${await tokenFor(spec, subject)}` : '';
}
