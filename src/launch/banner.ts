import { describeUrl } from './startup-errors.ts';

export interface BannerFacts {
  /** HOST as configured, and the port actually bound (PORT=0 picks one). */
  host: string;
  port: number;
  mode: 'embedded' | 'server';
  dataDir: string;
  databaseUrl?: string | undefined;
  redisUrl?: string | undefined;
  /** REDIS_CLUSTER_NODES: the geo index on a Redis Cluster instead of REDIS_URL. */
  redisClusterNodes?: string[] | undefined;
  /** Whether the Redis index answers right now; false means nearby runs on PostgreSQL. */
  geoUsable: boolean;
  /** Drivers the built-in simulator moves (embedded mode), 0 when it is off. */
  simulatedDrivers: number;
  /** A terminal the user can press Ctrl-C in. */
  interactive: boolean;
  pid: number;
  /** Hub processes sharing the port (HUB_WORKERS); the pid above is then their supervisor's. */
  workers?: number;
}

/** The address a browser on this machine should use for HOST. */
export function browserHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '127.0.0.1' || host === '::1') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function storage(facts: BannerFacts): string {
  if (facts.mode === 'embedded' || !facts.databaseUrl) {
    const fleet = facts.simulatedDrivers > 0 ? ` with ${facts.simulatedDrivers.toLocaleString('en-US')} simulated drivers moving` : '';
    return `embedded PGlite in ${facts.dataDir}${fleet}`;
  }
  const postgres = `PostgreSQL ${describeUrl(facts.databaseUrl).where}`;
  const redis = facts.redisClusterNodes
    ? `Redis Cluster via ${facts.redisClusterNodes.join(',')}`
    : facts.redisUrl
      ? `Redis ${describeUrl(facts.redisUrl).where}`
      : null;
  if (!redis) return `${postgres} with the in-process geo index`;
  return facts.geoUsable ? `${postgres} + ${redis}` : `${postgres} + ${redis} (unreachable: nearby answers come from PostgreSQL until it is back)`;
}

/** The one human-readable line after a start: where to look, what runs, how to stop. */
export function startupBanner(facts: BannerFacts): string {
  const base = `${browserHost(facts.host)}:${facts.port}`;
  const stop = facts.interactive ? 'Ctrl-C to stop' : `stop with SIGTERM or SIGINT (kill ${facts.pid}); it drains first`;
  const workers = (facts.workers ?? 1) > 1 ? ` · ${facts.workers} hub processes share the port` : '';
  return `dispatch hub ready: map http://${base}/ · drivers ws://${base}/ws/driver · riders ws://${base}/ws/rider · ${storage(facts)}${workers} · ${stop}`;
}
