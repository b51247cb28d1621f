import pg from 'pg';
import { createClient } from 'redis';

/** The original design's one GEO key of the whole fleet, under the run's prefix. */
export function originalDesignKey(prefix: string): string {
  return `${prefix}original:drivers`;
}

/**
 * The original design kept one GEO key of every driver; the hub's index is
 * split by cell instead. The baseline read (and the GEOSEARCH ceiling) run
 * on a key of the original shape, loaded here from PostgreSQL's committed
 * positions of the online fleet.
 */
export async function loadOriginalDesignKey(databaseUrl: string, redisUrl: string, key: string): Promise<number> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const { rows } = await db
    .query<{ id: number; lat: number; lng: number }>(`SELECT id, lat, lng FROM drivers WHERE status = 'online' AND lat IS NOT NULL`)
    .finally(() => db.end());
  const redis = createClient({ url: redisUrl });
  redis.on('error', () => undefined);
  await redis.connect();
  try {
    await redis.del(key);
    for (let start = 0; start < rows.length; start += 5000) {
      const args = ['GEOADD', key];
      for (const row of rows.slice(start, start + 5000)) args.push(String(row.lng), String(row.lat), String(row.id));
      await redis.sendCommand(args);
    }
  } finally {
    await redis.close();
  }
  return rows.length;
}
