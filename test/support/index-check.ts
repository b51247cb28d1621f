import { createClient, createCluster } from 'redis';
import { cellOf } from '../../src/geo/cells.ts';
import { cellKeysFor, cellSeenPattern } from '../../src/geo/redis-index.ts';
import { withDb } from './fleet.ts';

export interface IndexedDriver {
  lat: number;
  lng: number;
  seenAtMs: number;
  /** The cell keys it was found in; more than one is a tear the reconciliation must mend. */
  cells: string[];
}

/** Where the index lives: one Redis by URL, or a cluster by its seed nodes. */
export type RedisTarget = string | { clusterNodes: string[] };

/** What these helpers need of a node-redis client: whichever kind a test holds satisfies it. */
export interface IndexClient {
  scanIterator(options: { MATCH: string; COUNT: number }): AsyncIterable<string[]>;
  zRange(key: string, start: number, stop: number): Promise<string[]>;
  hGetAll(key: string): Promise<Record<string, string>>;
  zRangeWithScores(key: string, start: number, stop: number): Promise<Array<{ value: string; score: number }>>;
  geoAdd(key: string, member: { longitude: number; latitude: number; member: string }): Promise<unknown>;
  hSet(key: string, field: string, value: string): Promise<unknown>;
  zAdd(key: string, member: { score: number; value: string }): Promise<unknown>;
  zRem(key: string, member: string): Promise<unknown>;
}
type AnyClient = IndexClient;

/** Runs `work` once per server holding data: the one Redis, or every master of a cluster. */
async function eachServer(target: RedisTarget, work: (client: AnyClient) => Promise<void>): Promise<void> {
  if (typeof target === 'string') {
    const client = createClient({ url: target, socket: { reconnectStrategy: false, connectTimeout: 2000 } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      await work(client);
    } finally {
      await client.close();
    }
    return;
  }
  const cluster = createCluster({
    rootNodes: target.clusterNodes.map((node) => ({ url: `redis://${node}` })),
    defaults: { socket: { reconnectStrategy: false, connectTimeout: 2000 } },
  });
  cluster.on('error', () => undefined);
  await cluster.connect();
  try {
    for (const master of cluster.masters) await work(await cluster.nodeClient(master));
  } finally {
    await cluster.close();
  }
}

/** The hub's Redis geo index as it stands, read past the hub: members present in all three structures of their cell. */
export async function readRedisIndex(target: RedisTarget, prefix: string): Promise<Map<number, IndexedDriver>> {
  const index = new Map<number, IndexedDriver>();
  await eachServer(target, async (client) => {
    const seenKeys: string[] = [];
    for await (const batch of client.scanIterator({ MATCH: cellSeenPattern(prefix), COUNT: 1000 })) seenKeys.push(...batch);
    for (const seenKey of seenKeys) {
      const cell = seenKey.slice(seenKey.indexOf('{') + 1, seenKey.indexOf('}'));
      const [geoKey, , positionKey] = cellKeysFor(prefix, cell);
      const [members, positions, seen] = await Promise.all([
        client.zRange(geoKey, 0, -1),
        client.hGetAll(positionKey),
        client.zRangeWithScores(seenKey, 0, -1),
      ]);
      const seenAtMs = new Map(seen.map((entry) => [entry.value, entry.score]));
      for (const member of members) {
        const position = positions[member];
        const at = seenAtMs.get(member);
        if (position === undefined || at === undefined) continue;
        const [lat, lng] = position.split(',').map(Number) as [number, number];
        const held = index.get(Number(member));
        if (held) held.cells.push(cell);
        else index.set(Number(member), { lat, lng, seenAtMs: at, cells: [cell] });
      }
    }
  });
  return index;
}

/**
 * Every way the index disagrees with PostgreSQL: a fresh online driver
 * missing, at another position, in the wrong cell or in two cells, or a
 * member that should not be there.
 */
export async function indexDifferences(target: RedisTarget, prefix: string, databaseUrl: string, staleAfterMs: number): Promise<string[]> {
  const index = await readRedisIndex(target, prefix);
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
    else if (held.lat !== row.lat || held.lng !== row.lng)
      differences.push(`driver ${row.id} is at ${held.lat},${held.lng} in the index, ${row.lat},${row.lng} in PostgreSQL`);
    else if (held.cells.length !== 1 || held.cells[0] !== cellOf(row.lat, row.lng))
      differences.push(`driver ${row.id} is held in cells ${held.cells.join(', ')}, belongs in ${cellOf(row.lat, row.lng)}`);
  }
  for (const id of index.keys()) if (!wanted.has(id)) differences.push(`driver ${id} is in the index but not a fresh online driver`);
  return differences;
}

/** Writes a member straight into the cell of `lat, lng`, past the hub (to stage damage); `parts` leaves structures out. */
export async function placeInIndex(
  client: AnyClient,
  prefix: string,
  member: { id: number; lat: number; lng: number; seenAtMs: number },
  parts: { geo?: boolean; position?: boolean; seen?: boolean } = {},
): Promise<void> {
  const [geoKey, seenKey, positionKey] = cellKeysFor(prefix, cellOf(member.lat, member.lng));
  const id = String(member.id);
  if (parts.geo ?? true) await client.geoAdd(geoKey, { longitude: member.lng, latitude: member.lat, member: id });
  if (parts.position ?? true) await client.hSet(positionKey, id, `${member.lat},${member.lng}`);
  if (parts.seen ?? true) await client.zAdd(seenKey, { score: member.seenAtMs, value: id });
}

/** Deletes a member from the GEO set of the cell of `lat, lng` only, past the hub. */
export async function dropFromCellGeoSet(client: AnyClient, prefix: string, id: number, lat: number, lng: number): Promise<void> {
  await client.zRem(cellKeysFor(prefix, cellOf(lat, lng))[0], String(id));
}
