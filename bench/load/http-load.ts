import { Agent, request } from 'node:http';
import { createRng } from '../../src/domain/random.ts';
import type { LoadTask, TaskResult } from './load-protocol.ts';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { TaskRun, waitUntil, type ProgressSink } from './task-run.ts';
import { tokenFor } from './tokens.ts';

type HttpTask = Extract<LoadTask, { kind: 'http' }>;

const TICK_MS = 5;
const DRAIN_MS = 5000;
/** Writers signed ahead of the run: token signing is the client's cost, not the path under test. */
const MAX_SIGNED_DRIVERS = 2000;

/**
 * Plain HTTP load, the way the original design is used: one request per
 * location update or per nearby read, over keep-alive connections.
 */
export async function runHttpLoad(task: HttpTask, progress: ProgressSink): Promise<TaskResult> {
  const writers = Math.min(task.driverCount, MAX_SIGNED_DRIVERS);
  const tokens = await Promise.all(
    Array.from({ length: task.token ? writers : 0 }, (_, index) => tokenFor(task.token!, { role: 'driver', driverId: task.firstDriverId + index })),
  );
  const run = new TaskRun(task.warmupMs, progress);
  const agent = new Agent({ keepAlive: true, maxSockets: task.concurrency });
  const rng = createRng(task.seed);
  let inFlight = 0;
  let sending = true;

  const makeRequest = (onDone: () => void): void => {
    const point = randomPointInDisc(rng, { lat: task.shape.centerLat, lng: task.shape.centerLng }, task.shape.spreadKm);
    const post = task.request === 'post-location';
    const writer = Math.floor(rng.next() * writers);
    const path = post
      ? `/api/drivers/${task.firstDriverId + writer}/location`
      : `/api/drivers/nearby?lat=${point.lat}&lng=${point.lng}&radius=${task.shape.radiusKm}&limit=${task.shape.limit}`;
    const body = post ? JSON.stringify({ lat: point.lat, lng: point.lng }) : undefined;
    const headers: Record<string, string | number> = post ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body!) } : {};
    if (post && task.token) headers.authorization = `Bearer ${tokens[writer]}`;
    const startedAt = performance.now();
    const measured = run.wasMeasured(startedAt);
    if (measured) run.sent += 1;
    inFlight += 1;
    const finish = (outcome: string | null) => {
      inFlight -= 1;
      if (measured) {
        if (outcome === null) {
          run.completed += 1;
          run.latency.record(performance.now() - startedAt);
        } else {
          run.error(outcome);
        }
      }
      onDone();
    };
    const req = request(
      {
        host: task.host,
        port: task.port,
        path,
        method: post ? 'POST' : 'GET',
        agent,
        headers,
      },
      (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode === 200 ? null : `HTTP ${res.statusCode}`));
        res.on('error', (error) => finish(error.message));
      },
    );
    req.on('error', (error) => finish(error.message.slice(0, 80)));
    req.end(body);
  };

  const started = performance.now();
  if (task.perSecond === undefined) {
    const loop = () => {
      if (sending) makeRequest(loop);
    };
    for (let i = 0; i < task.concurrency; i++) loop();
    await new Promise((resolve) => setTimeout(resolve, task.durationMs));
  } else {
    const perMs = task.perSecond / 1000;
    let issued = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - started;
        const due = Math.floor(Math.min(elapsed, task.durationMs) * perMs);
        while (issued < due) {
          issued += 1;
          if (inFlight >= task.concurrency) run.error('skipped: all connections busy');
          else makeRequest(() => undefined);
        }
        if (elapsed >= task.durationMs) {
          clearInterval(timer);
          resolve();
        }
      }, TICK_MS);
    });
  }
  sending = false;
  run.stopSending();
  await waitUntil(() => inFlight === 0, DRAIN_MS);
  run.count('unanswered after drain', inFlight);
  agent.destroy();
  return run.finish();
}
