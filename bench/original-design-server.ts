import { createServer, type ServerResponse } from 'node:http';
import pg from 'pg';
import { createClient } from 'redis';

/**
 * The original design's nearby read, rebuilt as the baseline the hub is
 * compared against: per HTTP request, one GEOSEARCH on one GEO key of the
 * whole fleet (loaded by the benchmark, original-design-key.ts), then one PostgreSQL query to enrich the hits with
 * name, vehicle, rating and status. Forked by the benchmark; reports its
 * port over IPC. Settings come from the benchmark, not from the hub's config.
 */
const databaseUrl = process.env.BASELINE_DATABASE_URL;
const redisUrl = process.env.BASELINE_REDIS_URL;
const geoKey = process.env.BASELINE_GEO_KEY;
if (!databaseUrl || !redisUrl || !geoKey) throw new Error('BASELINE_DATABASE_URL, BASELINE_REDIS_URL and BASELINE_GEO_KEY are required');

const pool = new pg.Pool({ connectionString: databaseUrl, max: 10, application_name: 'bench-original-design' });
pool.on('error', (error) => process.stderr.write(`original-design pool error: ${error.message}\n`));
const redis = createClient({ url: redisUrl });
redis.on('error', (error: Error) => process.stderr.write(`original-design redis error: ${error.message}\n`));
await redis.connect();

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** The drivers columns the original design returned, as pg hands them back. */
interface DriverRow {
  id: number;
  name: string;
  phone: string;
  vehicle_type: string;
  rating: number;
  total_rides: number;
  status: string;
  lat: number | null;
  lng: number | null;
  updated_at: Date;
}

async function nearby(params: URLSearchParams): Promise<unknown[]> {
  const lat = Number(params.get('lat'));
  const lng = Number(params.get('lng'));
  const radius = Number(params.get('radius') ?? 5);
  const limit = Number(params.get('limit') ?? 10);
  // WITHDIST answers [member, distance] pairs.
  const hits = await redis.sendCommand<Array<[string, string]>>([
    'GEOSEARCH',
    geoKey!,
    'FROMLONLAT',
    String(lng),
    String(lat),
    'BYRADIUS',
    String(radius),
    'km',
    'ASC',
    'COUNT',
    String(limit),
    'WITHDIST',
  ]);
  if (hits.length === 0) return [];
  const { rows } = await pool.query<DriverRow>(
    `SELECT id, name, phone, vehicle_type, rating, total_rides, status, lat, lng, updated_at
     FROM drivers WHERE id = ANY($1::int[]) AND status = 'online'`,
    [hits.map(([id]) => Number(id))],
  );
  const byId = new Map(rows.map((row) => [Number(row.id), row]));
  return hits.flatMap(([id, distance]) => {
    const row = byId.get(Number(id));
    return row ? [{ ...row, distance: Number(distance) }] : [];
  });
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://baseline');
  if (req.method !== 'GET' || url.pathname !== '/api/drivers/nearby') return reply(res, 404, { success: false, error: 'not found' });
  const started = performance.now();
  nearby(url.searchParams).then(
    (data) => reply(res, 200, { success: true, data, performance: { queryTime: `${(performance.now() - started).toFixed(2)}ms` } }),
    (error: Error) => reply(res, 500, { success: false, error: error.message }),
  );
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.({ type: 'listening', port: typeof address === 'object' && address ? address.port : 0 });
});
process.on('disconnect', () => {
  server.close();
  void Promise.allSettled([pool.end(), redis.close()]).then(() => process.exit(0));
});
