import { createClient } from 'redis';
import { withDb } from './fleet.ts';

export interface IndexedDriver {
  lat: number;
  lng: number;
  seenAtMs: number;
}

/** The hub's Redis geo index as it stands, read past the hub: only members present in all three structures. */
export async function readRedisIndex(redisUrl: string, prefix: string): Promise<Map<number, IndexedDriver>> {
  const client = createClient({ url: redisUrl, socket: { reconnectStrategy: false, connectTimeout: 2000 } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const [members, positions, seen] = await Promise.all([
      client.zRange(`${prefix}geo:drivers`, 0, -1),
      client.hGetAll(`${prefix}geo:pos`),
      client.zRangeWithScores(`${prefix}geo:seen`, 0, -1),
    ]);
    const seenAtMs = new Map(seen.map((entry) => [entry.value, entry.score]));
    const index = new Map<number, IndexedDriver>();
    for (const member of members) {
      const position = positions[member];
      const at = seenAtMs.get(member);
      if (position === undefined || at === undefined) continue;
      const [lat, lng] = position.split(',').map(Number) as [number, number];
      index.set(Number(member), { lat, lng, seenAtMs: at });
    }
    return index;
  } finally {
    await client.close();
  }
}

/**
 * Every way the index disagrees with PostgreSQL: a fresh online driver
 * missing or at another position, or a member that should not be there.
 */
export async function indexDifferences(redisUrl: string, prefix: string, databaseUrl: string, staleAfterMs: number): Promise<string[]> {
  const index = await readRedisIndex(redisUrl, prefix);
  const rows = await withDb(databaseUrl, async (db) => {
    const result = await db.query<{ id: number; lat: number; lng: number }>(
      `SELECT id, lat, lng FROM drivers
       WHERE status = 'online' AND lat IS NOT NULL AND updated_at >= now() - make_interval(secs => $1::float8 / 1000)`,
      [staleAfterMs],
    );
    return result.rows;
  });
  const differences: string[] = [];
  const wanted = new Set<number>();
  for (const row of rows) {
    wanted.add(row.id);
    const held = index.get(row.id);
    if (!held) differences.push(`driver ${row.id} is missing from the index`);
    else if (held.lat !== row.lat || held.lng !== row.lng) differences.push(`driver ${row.id} is at ${held.lat},${held.lng} in the index, ${row.lat},${row.lng} in PostgreSQL`);
  }
  for (const id of index.keys()) if (!wanted.has(id)) differences.push(`driver ${id} is in the index but not a fresh online driver`);
  return differences;
}
