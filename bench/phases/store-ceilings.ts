import { TIMES_SQUARE } from '../../src/public/fleet.ts';
import type { BenchPhase } from '../bench-run.ts';
import { measurePostgresCeilings } from '../ceilings/postgres-ceiling.ts';
import { measureRedisCeilings } from '../ceilings/redis-ceiling.ts';
import { originalDesignKey } from '../original-design-key.ts';

/** What Redis and PostgreSQL alone sustain on this machine, with the hub idle. */
export const storeCeilings: BenchPhase = {
  title: () => 'store ceilings: Redis GEOADD / GEOSEARCH, PostgreSQL batched UPDATE + INSERT',
  async run(run) {
    const { plan, redisUrl, prefix, database, online } = run.setup;
    const redis = await measureRedisCeilings({
      url: redisUrl,
      geoKey: originalDesignKey(prefix),
      scratchKey: `${prefix}ceiling:geo`,
      center: run.center,
      radiusKm: plan.query.radiusKm,
      count: plan.query.limit * 2 + 16,
      members: plan.redisCeilingMembers,
      membersPerCommand: Math.min(1000, plan.redisCeilingMembers / 2),
      durationMs: plan.storeCeilingMs,
    });
    run.progress.update(
      `redis: ${redis.geoaddMembersPerS.toLocaleString('en-US')} GEOADD members/s, ${redis.geosearchPerS.toLocaleString('en-US')} GEOSEARCH/s`,
    );
    await database.query('VACUUM drivers');
    const postgres = await measurePostgresCeilings({
      url: database.url,
      firstId: online.firstId,
      drivers: plan.onlineDrivers,
      batchRows: plan.pgBatchRows,
      durationMs: plan.storeCeilingMs,
      center: TIMES_SQUARE,
    });
    run.findings.storeCeilings = { redis, postgres };
  },
};
