import { createClient } from 'redis';

export interface RedisStats {
  /** CPU the redis-server process has used, user + system, in seconds. */
  cpuSeconds: number;
  commands: Record<string, { calls: number; usec: number }>;
}

/** Redis INFO cpu and commandstats: the server's own account of where its time goes. */
export async function readRedisStats(url: string): Promise<RedisStats> {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const text = await client.info('all');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
    const commands: RedisStats['commands'] = {};
    for (const match of text.matchAll(/^cmdstat_([a-z|_-]+):calls=(\d+),usec=(\d+)/gm)) {
      commands[match[1]!] = { calls: Number(match[2]), usec: Number(match[3]) };
    }
    return { cpuSeconds: field('used_cpu_user') + field('used_cpu_sys'), commands };
  } finally {
    await client.close();
  }
}

export interface RedisWindow {
  cpuPercent: number;
  /** Commands run during the window, busiest first, with Redis's own microseconds per call. */
  commands: Array<{ command: string; calls: number; usecPerCall: number; cpuPercent: number }>;
}

/** What Redis did between two readings. The server is shared: other clients' commands are in it too. */
export function redisWindow(before: RedisStats, after: RedisStats, wallMs: number): RedisWindow {
  const commands = Object.entries(after.commands)
    .map(([command, now]) => {
      const then = before.commands[command] ?? { calls: 0, usec: 0 };
      const calls = now.calls - then.calls;
      const usec = now.usec - then.usec;
      return { command, calls, usecPerCall: calls > 0 ? Math.round((usec / calls) * 10) / 10 : 0, cpuPercent: Math.round((usec / 1000 / wallMs) * 1000) / 10 };
    })
    .filter((entry) => entry.calls > 0)
    .sort((a, b) => b.cpuPercent - a.cpuPercent)
    .slice(0, 8);
  return { cpuPercent: Math.round(((after.cpuSeconds - before.cpuSeconds) * 1000 * 1000) / wallMs) / 10, commands };
}
