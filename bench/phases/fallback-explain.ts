import { TIMES_SQUARE } from '../../src/public/fleet.ts';
import { explainNearest } from '../../src/public/setup.ts';
import { BENCH_STALE_AFTER_MS } from '../bench-run.ts';
import type { QueryShape } from '../load/load-protocol.ts';

/** PostgreSQL's plan for the SQL fallback's nearest query: the benchmark's query at the fleet's centre, over drivers the benchmark counts fresh. */
export function explainFallbackQuery(databaseUrl: string, query: QueryShape): Promise<string> {
  return explainNearest(databaseUrl, {
    lat: TIMES_SQUARE.lat,
    lng: TIMES_SQUARE.lng,
    radiusKm: query.radiusKm,
    limit: query.limit,
    freshSinceMs: Date.now() - BENCH_STALE_AFTER_MS,
  });
}
