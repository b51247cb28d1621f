import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A quick first run sizes the real one so that it lasts about as long as asked. */
const CALIBRATION_PIPELINES = 50;

/**
 * Commands per second Redis answers for one command over one connection
 * with `pipeline` in flight, measured by Redis's own `redis-benchmark`
 * (installed with redis-server). Runs for about `durationMs`.
 */
export async function redisBenchmark(url: string, command: Array<string | number>, pipeline: number, durationMs: number): Promise<number> {
  const calibration = await once(url, command, pipeline, pipeline * CALIBRATION_PIPELINES);
  return once(url, command, pipeline, Math.max(pipeline, Math.round((calibration * durationMs) / 1000)));
}

async function once(url: string, command: Array<string | number>, pipeline: number, requests: number): Promise<number> {
  const { stdout } = await run('redis-benchmark', ['-u', url, '-c', '1', '-P', String(pipeline), '-n', String(requests), '--csv', ...command.map(String)], {
    maxBuffer: 1024 * 1024,
  });
  // "test","rps",...  then one row whose second field is the rate.
  const row = stdout.trim().split('\n').at(-1) ?? '';
  const rps = Number(/^"[^"]*","([\d.]+)"/.exec(row)?.[1]);
  if (!Number.isFinite(rps) || rps <= 0) throw new Error(`redis-benchmark gave no rate for ${String(command[0])}: ${stdout.slice(0, 200)}`);
  return rps;
}
