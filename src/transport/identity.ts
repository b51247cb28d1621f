import { HubError } from '../protocol/errors.ts';

export type Role = 'driver' | 'rider';

export type Identity = { role: 'driver'; driverId: number } | { role: 'rider'; riderId: string };

export interface UpgradeCredentials {
  role: Role;
  query: URLSearchParams;
}

/**
 * The one place that decides who a connection is. Every route and every
 * later authentication scheme goes through here.
 */
export async function resolveIdentity(credentials: UpgradeCredentials): Promise<Identity> {
  if (credentials.role === 'rider') {
    return { role: 'rider', riderId: credentials.query.get('id')?.slice(0, 64) || 'anonymous' };
  }
  const rawId = credentials.query.get('id');
  if (rawId === null || !/^[1-9][0-9]{0,9}$/.test(rawId) || Number(rawId) > 2_147_483_647) {
    throw new HubError('invalid_field', 'query parameter "id" must be a positive integer driver id');
  }
  return { role: 'driver', driverId: Number(rawId) };
}
