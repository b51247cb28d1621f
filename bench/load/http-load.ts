import { Agent, request as httpRequest } from 'node:http';
import autocannon from 'autocannon';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { createRng } from '../../src/domain/random.ts';
import type { LoadTask, TaskResult } from './load-protocol.ts';
import { runOpenLoop } from './open-loop.ts';
import { TaskRun, waitUntil, type ProgressSink } from './task-run.ts';
import { tokenFor } from './tokens.ts';

type HttpTask = Extract<LoadTask, { kind: 'http' }>;

/** Writers signed ahead of the run: token signing is the client's cost, not the path under test. */
const MAX_SIGNED_DRIVERS = 2000;
/** A request unanswered this long counts as an error; far beyond any latency the phases see. */
const REQUEST_TIMEOUT_S = 10;
/** After the measured window, how long requests started in it may take to finish. */
const DRAIN_MS = 5000;
const TICK_MS = 5;

interface HttpCall {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Plain HTTP load, the way the original design is used: one request per
 * location update or per nearby read, over keep-alive connections. Closed
 * loop (`concurrency` requests always in flight) is autocannon; a fixed
 * rate is issued here, evenly spaced, because autocannon's rate limit
 * releases each second's budget in a burst at the start of the second,
 * which would measure queueing behind our own bursts instead of the server.
 * Either way every response is timed into the task's own histogram, so HTTP
 * phases report by the same percentile rule as the rest.
 */
export async function runHttpLoad(task: HttpTask, progress: ProgressSink): Promise<TaskResult> {
  const writers = Math.min(task.driverCount, MAX_SIGNED_DRIVERS);
  const tokens = await Promise.all(
    Array.from({ length: task.token ? writers : 0 }, (_, index) => tokenFor(task.token!, { role: 'driver', driverId: task.firstDriverId + index })),
  );
  const rng = createRng(task.seed);
  const center = { lat: task.shape.centerLat, lng: task.shape.centerLng };
  /** A fresh point (and writer) for every request. */
  const nextCall = (): HttpCall => {
    const point = randomPointInDisc(rng, center, task.shape.spreadKm);
    if (task.request === 'get-nearby') {
      return {
        method: 'GET',
        path: `/api/drivers/nearby?lat=${point.lat}&lng=${point.lng}&radius=${task.shape.radiusKm}&limit=${task.shape.limit}`,
        headers: {},
      };
    }
    const writer = Math.floor(rng.next() * writers);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (task.token) headers.authorization = `Bearer ${tokens[writer]}`;
    return { method: 'POST', path: `/api/drivers/${task.firstDriverId + writer}/location`, headers, body: JSON.stringify({ lat: point.lat, lng: point.lng }) };
  };
  const run = new TaskRun(task.warmupMs, progress);
  if (task.perSecond === undefined) await closedLoop(task, run, nextCall);
  else await fixedRate(task, task.perSecond, run, nextCall);
  return run.finish();
}

/** A completion of a request started at `startedAt`: counted when the start was in the measured window. */
function settle(run: TaskRun, startedAt: number, latencyMs: number, outcome: string | null): void {
  if (!run.wasMeasured(startedAt)) return;
  if (outcome === null) {
    run.completed += 1;
    run.latency.record(latencyMs);
  } else {
    run.error(outcome);
  }
}

async function closedLoop(task: HttpTask, run: TaskRun, nextCall: () => HttpCall): Promise<void> {
  let measuredInFlight = 0;
  // autocannon calls this as it builds each request, right before writing it.
  const setupRequest = (request: autocannon.Request): autocannon.Request => {
    if (run.measuring) {
      run.sent += 1;
      measuredInFlight += 1;
    }
    return { ...request, ...nextCall() };
  };
  const options: autocannon.Options = {
    url: `http://${task.host}:${task.port}`,
    connections: task.concurrency,
    // The measured window, then the drain with the same load kept on; stopped early once the window's requests are in.
    duration: (task.durationMs + DRAIN_MS) / 1000,
    timeout: REQUEST_TIMEOUT_S,
    requests: [{ setupRequest }],
  };
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(options, (error: Error | null, result) => (error ? reject(error) : resolve(result)));
  });
  instance!.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTimeMs: number) => {
    const startedAt = performance.now() - responseTimeMs;
    if (run.wasMeasured(startedAt)) measuredInFlight -= 1;
    settle(run, startedAt, responseTimeMs, statusCode === 200 ? null : `HTTP ${statusCode}`);
  });
  instance!.on('reqError', (error: Error) => {
    if (run.measuring) run.error(error.message.slice(0, 80));
  });
  const windowEnd = setTimeout(() => {
    run.stopSending();
    void waitUntil(() => measuredInFlight <= 0, DRAIN_MS).then(() => instance!.stop());
  }, task.durationMs);
  await done;
  clearTimeout(windowEnd);
  run.stopSending();
  run.count('unanswered after drain', Math.max(0, measuredInFlight));
}

async function fixedRate(task: HttpTask, perSecond: number, run: TaskRun, nextCall: () => HttpCall): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: task.concurrency });
  let inFlight = 0;
  const send = (): void => {
    const call = nextCall();
    const startedAt = performance.now();
    if (run.wasMeasured(startedAt)) run.sent += 1;
    inFlight += 1;
    const finish = (outcome: string | null) => {
      inFlight -= 1;
      settle(run, startedAt, performance.now() - startedAt, outcome);
    };
    const headers = call.body === undefined ? call.headers : { ...call.headers, 'content-length': String(Buffer.byteLength(call.body)) };
    const req = httpRequest({ host: task.host, port: task.port, path: call.path, method: call.method, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode === 200 ? null : `HTTP ${res.statusCode}`));
      res.on('error', (error) => finish(error.message));
    });
    req.on('error', (error) => finish(error.message.slice(0, 80)));
    req.end(call.body);
  };
  await runOpenLoop(run, { perSecond, durationMs: task.durationMs, tickMs: TICK_MS }, () => {
    if (inFlight < task.concurrency) send();
    else run.error('skipped: all connections busy');
  });
  run.count('unanswered after drain', await run.stopAndDrain(() => inFlight, DRAIN_MS));
  agent.destroy();
}
