import { webcrypto } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { HubError } from '../protocol/errors.ts';

/**
 * Signed access tokens: JWT, HS256, claims `role`, `sub` and `exp`.
 * Signing lives next to verification so the token script, the tests and the
 * hub can never disagree about the format.
 */
export type TokenRole = 'driver' | 'rider' | 'operator';

/** An operator token opens no socket: it authorizes operator reads over REST (a driver's track). */
export type VerifiedToken =
  | { role: 'driver'; driverId: number; expiresAtMs: number }
  | { role: 'rider'; riderId: string; expiresAtMs: number }
  | { role: 'operator'; operatorId: string; expiresAtMs: number };

const ALGORITHM = 'HS256';
/** Longer than any honest token; checked before any crypto so a huge string costs nothing. */
export const MAX_TOKEN_LENGTH = 2048;
const DRIVER_SUBJECT = /^[1-9][0-9]{0,9}$/;
const RIDER_SUBJECT = /^[\x21-\x7e]{1,64}$/;
const MAX_DRIVER_ID = 2_147_483_647;

const claimsSchema = z.object({
  role: z.enum(['driver', 'rider', 'operator']),
  sub: z.string(),
  exp: z.number().int().positive(),
});

const encoder = new TextEncoder();

export interface SignOptions {
  role: TokenRole;
  subject: string | number;
  /** A jose time span such as "90s", "15m", "1h", "7d", or seconds. */
  ttl: string | number;
  secret: string;
}

export async function signToken(options: SignOptions): Promise<string> {
  const subject = String(options.subject);
  assertSubject(options.role, subject);
  const expiry = typeof options.ttl === 'number' ? Math.floor(Date.now() / 1000) + options.ttl : options.ttl;
  return new SignJWT({ role: options.role })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setSubject(subject)
    .setIssuedAt()
    .setExpirationTime(expiry)
    .sign(encoder.encode(options.secret));
}

export interface TokenVerifier {
  /** Resolves the token's claims, or throws HubError `unauthorized` (bad, expired or malformed). */
  verify(token: string): Promise<VerifiedToken>;
}

/**
 * Verifies with the current secret, then with the previous one: during a
 * rotation tokens signed with either are accepted until the old ones expire.
 */
export function createTokenVerifier(secret: string, previousSecret?: string): TokenVerifier {
  // Imported once: given raw bytes, jose imports a WebCrypto key on every
  // verification, which doubled the cost of each upgrade in a reconnect storm.
  let keys: Promise<CryptoKey[]> | undefined;
  const importKeys = () =>
    Promise.all(
      [secret, ...(previousSecret ? [previousSecret] : [])].map((value) =>
        webcrypto.subtle.importKey('raw', encoder.encode(value), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']),
      ),
    );
  return {
    async verify(token) {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw new HubError('unauthorized', 'missing or malformed token');
      keys ??= importKeys();
      const imported = await keys;
      for (const [index, key] of imported.entries()) {
        try {
          const { payload } = await jwtVerify(token, key, { algorithms: [ALGORITHM], requiredClaims: ['exp', 'sub'] });
          return claimsOf(payload);
        } catch (error) {
          const anotherKeyMayMatch = error instanceof errors.JWSSignatureVerificationFailed && index < imported.length - 1;
          if (anotherKeyMayMatch) continue;
          if (error instanceof errors.JWTExpired) throw new HubError('unauthorized', 'token expired');
          if (error instanceof errors.JOSEError) throw new HubError('unauthorized', 'invalid token');
          throw error;
        }
      }
      throw new HubError('unauthorized', 'invalid token');
    },
  };
}

function claimsOf(payload: unknown): VerifiedToken {
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) throw new HubError('unauthorized', 'token claims must include role (driver|rider|operator), sub and exp');
  const { role, sub, exp } = parsed.data;
  assertSubject(role, sub, 'unauthorized');
  const expiresAtMs = exp * 1000;
  if (role === 'driver') return { role, driverId: Number(sub), expiresAtMs };
  return role === 'rider' ? { role, riderId: sub, expiresAtMs } : { role, operatorId: sub, expiresAtMs };
}

function assertSubject(role: TokenRole, subject: string, code: 'unauthorized' | 'invalid_field' = 'invalid_field'): void {
  const valid = role === 'driver' ? DRIVER_SUBJECT.test(subject) && Number(subject) <= MAX_DRIVER_ID : RIDER_SUBJECT.test(subject);
  if (!valid) {
    throw new HubError(
      code,
      role === 'driver' ? 'a driver token subject must be a positive integer driver id' : `a ${role} token subject must be 1-64 printable ASCII characters`,
    );
  }
}
