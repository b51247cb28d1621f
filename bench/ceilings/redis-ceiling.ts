import { createRng } from '../../src/domain/random.ts';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { encodeCommand, RespPipe } from './resp-pipe.ts';

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

/**
 * What Redis alone sustains on this machine: batched GEOADD (members/s, as
 * the hub writes positions) and GEOSEARCH (searches/s, the command at the
 * heart of the hub's nearby script), each over one pipelined connection.
 */
export async function measureRedisCeilings(options: RedisCeilingOptions): Promise<RedisCeilings> {
  const rng = createRng(9001);
  const pipe = await RespPipe.connect(options.url);
  try {
    const adds: Buffer[] = [];
    for (let first = 0; first < options.members; first += options.membersPerCommand) {
      const args: Array<string | number> = ['GEOADD', options.scratchKey];
      for (let member = first; member < Math.min(options.members, first + options.membersPerCommand); member++) {
        const point = randomPointInDisc(rng, options.center, options.center.spreadKm);
        args.push(point.lng.toFixed(7), point.lat.toFixed(7), member);
      }
      adds.push(encodeCommand(args));
    }
    const geoadd = await pipe.saturate(adds, PIPELINE_DEPTH, options.durationMs);
    if (geoadd.errors > 0) throw new Error(`GEOADD ceiling: ${geoadd.firstError}`);

    const searches = Array.from({ length: 1000 }, () => {
      const point = randomPointInDisc(rng, options.center, options.center.spreadKm);
      return encodeCommand(['GEOSEARCH', options.geoKey, 'FROMLONLAT', point.lng, point.lat, 'BYRADIUS', options.radiusKm, 'km', 'ASC', 'COUNT', options.count, 'WITHDIST']);
    });
    const geosearch = await pipe.saturate(searches, PIPELINE_DEPTH, options.durationMs);
    if (geosearch.errors > 0) throw new Error(`GEOSEARCH ceiling: ${geosearch.firstError}`);
    await pipe.command(['DEL', options.scratchKey]);
    return {
      geoaddMembersPerS: Math.round(((geoadd.replies * options.membersPerCommand) / geoadd.elapsedMs) * 1000),
      geoaddMembersPerCommand: options.membersPerCommand,
      geosearchPerS: Math.round((geosearch.replies / geosearch.elapsedMs) * 1000),
      geosearchCommand: `GEOSEARCH <key> FROMLONLAT <lng> <lat> BYRADIUS ${options.radiusKm} km ASC COUNT ${options.count} WITHDIST`,
      pipelineDepth: PIPELINE_DEPTH,
    };
  } finally {
    pipe.close();
  }
}
