import { withClient } from '../../tools/testkit/database.ts';
import { generateFleet, TIMES_SQUARE } from '../../src/seed/fleet.ts';
import type { TestHub } from './hub.ts';
import { repairIndex } from '../../src/sync/index-repair.ts';
import { createLogger } from '../../src/logger.ts';

/** Inserts a deterministic fleet and loads it into the hub's geo index; returns the new ids. */
export async function seedFleet(testHub: TestHub, count: number, seed = 7, radiusKm = 6): Promise<number[]> {
  const ids = await testHub.hub.store.insertDrivers([...generateFleet({ count, seed, center: TIMES_SQUARE, radiusKm, onlineShare: 0.7 })]);
  await repairIndex(testHub.hub.store, testHub.hub.geo, 60_000, createLogger('silent'));
  return ids;
}

/** A direct connection to a test database, for checking what the hub committed. */
export const withDb = withClient;
