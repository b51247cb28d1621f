import { createClient } from 'redis';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { createRng } from '../../src/domain/random.ts';
import { redisBenchmark } from './redis-benchmark.ts';

export interface RedisCeilings {
  geoaddMembersPerS: number;
  geoaddMembersPerCommand: number;
  geosearchPerS: number;
  geosearchCommand: string;
  pipelineDepth: number;
}

export interface RedisCeilingOptions {
  url: string;
  /** Hub's live geo key, searched as the hub searches it. */
  geoKey: string;
  /** Scratch key for the GEOADD run, deleted afterwards. */
  scratchKey: string;
  center: { lat: number; lng: number; spreadKm: number };
  radiusKm: number;
  /** COUNT of each search: what the hub asks Redis for (limit × 2 + 16). */
  count: number;
  members: number;
  membersPerCommand: number;
  durationMs: number;
}

const PIPELINE_DEPTH = 32;
/** Search centres sampled over the riders' area; each gets an equal share of the time. */
const SEARCH_POINTS = 8;

/**
 * What Redis alone sustains on this machine, measured with redis-benchmark
 * over one connection with PIPELINE_DEPTH commands in flight: batched GEOADD
 * (members/s, as the hub writes positions: moving members of a key that
 * already holds the fleet) and GEOSEARCH (searches/s at the hub's query
 * shape, from points spread over the riders' area).
 */
export async function measureRedisCeilings(options: RedisCeilingOptions): Promise<RedisCeilings> {
  const rng = createRng(9001);
  const point = () => randomPointInDisc(rng, options.center, options.center.spreadKm);
  const client = createClient({ url: options.url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // The scratch key holds the whole fleet first, so each GEOADD moves members of a full key, as the hub's writes do.
    const batch: Array<{ longitude: number; latitude: number; member: string }> = [];
    for (let member = 0; member < options.members; member++) {
      const { lat, lng } = point();
      batch.push({ longitude: lng, latitude: lat, member: String(member) });
      if (batch.length === 10_000 || member === options.members - 1) await client.geoAdd(options.scratchKey, batch.splice(0));
    }
    const add: Array<string | number> = ['GEOADD', options.scratchKey];
    for (let member = 0; member < options.membersPerCommand; member++) {
      const { lat, lng } = point();
      add.push(lng.toFixed(7), lat.toFixed(7), member);
    }
    const geoaddPerS = await redisBenchmark(options.url, add, PIPELINE_DEPTH, options.durationMs);

    const rates: number[] = [];
    for (let index = 0; index < SEARCH_POINTS; index++) {
      const { lat, lng } = point();
      const search = [
        'GEOSEARCH',
        options.geoKey,
        'FROMLONLAT',
        lng.toFixed(7),
        lat.toFixed(7),
        'BYRADIUS',
        options.radiusKm,
        'km',
        'ASC',
        'COUNT',
        options.count,
        'WITHDIST',
      ];
      rates.push(await redisBenchmark(options.url, search, PIPELINE_DEPTH, options.durationMs / SEARCH_POINTS));
    }
    await client.del(options.scratchKey);
    return {
      geoaddMembersPerS: Math.round(geoaddPerS * options.membersPerCommand),
      geoaddMembersPerCommand: options.membersPerCommand,
      // Equal time at each point: the rate over the whole run is their mean.
      geosearchPerS: Math.round(rates.reduce((sum, rate) => sum + rate, 0) / rates.length),
      geosearchCommand: `GEOSEARCH <key> FROMLONLAT <lng> <lat> BYRADIUS ${options.radiusKm} km ASC COUNT ${options.count} WITHDIST`,
      pipelineDepth: PIPELINE_DEPTH,
    };
  } finally {
    await client.close();
  }
}
