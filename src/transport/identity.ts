import { createTokenVerifier, type TokenVerifier, type VerifiedToken } from '../auth/tokens.ts';
import type { Identity, Role } from '../domain/identity.ts';
import { HubError } from '../protocol/errors.ts';
import { BEARER_SUBPROTOCOL_PREFIX, HUB_SUBPROTOCOL } from '../protocol/handshake.ts';

export interface UpgradeCredentials {
  role: Role;
  query: URLSearchParams;
  /** The raw `Sec-WebSocket-Protocol` request header ('' when absent). */
  protocolHeader: string;
}

export interface ResolvedIdentity {
  identity: Identity;
  /** The subprotocol to answer with: one the client offered, or '' for none. */
  protocol: string;
  /** When the token expires; Infinity in open mode. */
  expiresAtMs: number;
  /** A key per verified identity, for per-identity connection caps; undefined when the identity is only claimed (open mode). */
  capKey: string | undefined;
}

export interface AuthSettings {
  /** Unset: open mode, where the identity is whatever the client claims. */
  secret?: string | undefined;
  previousSecret?: string | undefined;
}

export interface IdentityResolver {
  readonly open: boolean;
  /** Decides who a WebSocket connection is, during the upgrade. Throws HubError unauthorized (401), forbidden (403) or invalid_field (400). */
  resolveIdentity(credentials: UpgradeCredentials): Promise<ResolvedIdentity>;
  /** Allows a REST write for a driver only with `Authorization: Bearer <that driver's token>`; a no-op in open mode. */
  authorizeDriverWrite(authorizationHeader: string, driverId: number): Promise<void>;
  /** Allows an operator read (a driver's track) only with `Authorization: Bearer <operator token>`; a no-op in open mode. */
  authorizeOperatorRead(authorizationHeader: string): Promise<void>;
}

const DRIVER_ID = /^[1-9][0-9]{0,9}$/;
const MAX_DRIVER_ID = 2_147_483_647;

/**
 * The one place that decides who a connection or a REST write is. With a
 * secret, identity comes from a verified token only; without one (open mode,
 * the embedded demo) it is whatever `?id=` claims.
 */
export function createIdentityResolver(settings: AuthSettings): IdentityResolver {
  const verifier = settings.secret ? createTokenVerifier(settings.secret, settings.previousSecret) : undefined;
  return {
    open: verifier === undefined,
    resolveIdentity: (credentials) => (verifier ? fromToken(verifier, credentials) : fromClaimedId(credentials)),
    async authorizeDriverWrite(authorizationHeader, driverId) {
      if (!verifier) return;
      const token = await bearerToken(verifier, authorizationHeader, 'driver');
      if (token.role !== 'driver') throw new HubError('forbidden', 'only a driver token may write a driver location');
      if (token.driverId !== driverId) throw new HubError('forbidden', `this token is for driver ${token.driverId}, not driver ${driverId}`);
    },
    async authorizeOperatorRead(authorizationHeader) {
      if (!verifier) return;
      const token = await bearerToken(verifier, authorizationHeader, 'operator');
      if (token.role !== 'operator') throw new HubError('forbidden', `a ${token.role} token cannot read operator endpoints`);
    },
  };
}

async function bearerToken(verifier: TokenVerifier, authorizationHeader: string, role: 'driver' | 'operator'): Promise<VerifiedToken> {
  const match = /^Bearer +(\S+)\s*$/i.exec(authorizationHeader);
  if (!match) throw new HubError('unauthorized', `a${role === 'operator' ? 'n' : ''} ${role} token is required: Authorization: Bearer <token>`);
  return verifier.verify(match[1]!);
}

async function fromToken(verifier: TokenVerifier, credentials: UpgradeCredentials): Promise<ResolvedIdentity> {
  const offered = credentials.protocolHeader
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const bearerOffer = offered.find((entry) => entry.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  const queryToken = credentials.query.get('token');
  const token = queryToken ?? bearerOffer?.slice(BEARER_SUBPROTOCOL_PREFIX.length);
  if (!token) throw new HubError('unauthorized', 'a token is required: ?token= or the Sec-WebSocket-Protocol offer bearer.<token>');
  const verified = await verifier.verify(token);
  const identity = identityFor(credentials, verified);
  const protocol = offered.includes(HUB_SUBPROTOCOL) ? HUB_SUBPROTOCOL : queryToken === null && bearerOffer ? bearerOffer : '';
  const capKey = identity.role === 'driver' ? `driver:${identity.driverId}` : `rider:${identity.riderId}`;
  return { identity, protocol, expiresAtMs: verified.expiresAtMs, capKey };
}

function identityFor(credentials: UpgradeCredentials, token: VerifiedToken): Identity {
  if (token.role !== credentials.role) throw new HubError('forbidden', `a ${token.role} token cannot open /ws/${credentials.role}`);
  if (token.role === 'rider') return { role: 'rider', riderId: token.riderId };
  const claimedId = credentials.query.get('id');
  if (claimedId !== null && claimedId !== String(token.driverId)) {
    throw new HubError('forbidden', `this token is for driver ${token.driverId}, not driver ${claimedId.slice(0, 16)}`);
  }
  return { role: 'driver', driverId: token.driverId };
}

async function fromClaimedId(credentials: UpgradeCredentials): Promise<ResolvedIdentity> {
  const protocol = credentials.protocolHeader.split(',').some((entry) => entry.trim() === HUB_SUBPROTOCOL) ? HUB_SUBPROTOCOL : '';
  if (credentials.role === 'rider') {
    const riderId = credentials.query.get('id')?.slice(0, 64) || 'anonymous';
    return { identity: { role: 'rider', riderId }, protocol, expiresAtMs: Number.POSITIVE_INFINITY, capKey: undefined };
  }
  const rawId = credentials.query.get('id');
  if (rawId === null || !DRIVER_ID.test(rawId) || Number(rawId) > MAX_DRIVER_ID) {
    throw new HubError('invalid_field', 'query parameter "id" must be a positive integer driver id');
  }
  return { identity: { role: 'driver', driverId: Number(rawId) }, protocol, expiresAtMs: Number.POSITIVE_INFINITY, capKey: undefined };
}
