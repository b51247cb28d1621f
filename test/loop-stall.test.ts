import { afterAll, beforeAll, expect, it } from 'vitest';
import { DeadlineExceededError, DeadlineQueue } from '../src/deadline.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { connectSteadily } from './support/steady-connect.ts';

/** Holds this process's event loop, as a burst of synchronous work (a connect storm, a big GC) would. */
function blockLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else in this process runs meanwhile
  }
}

let testHub: TestHub;

beforeAll(async () => {
  // One rider streams queries far above the per-connection default: the budget is not what this file tests.
  testHub = await startTestHub('loop-stall', { RIDER_QUERIES_PER_S: '100000', RIDER_QUERY_BURST: '100000' });
  await seedFleet(testHub, 500);
});
afterAll(() => testHub.close());

it('never times out a Redis reply that arrived while the loop was blocked, whether the command was written before the block or after', async () => {
  const { geo } = testHub.hub;
  const query = { lat: 40.7589, lng: -73.9851, radiusKm: 2, count: 20, freshSinceMs: Date.now() - 60_000 };
  // Blocked before node-redis wrote the command (it writes on the next loop turn).
  const unwritten = geo.search(query);
  blockLoop(500);
  await expect(unwritten).resolves.toMatchObject({ truncated: true });
  // node-redis writes in the check phase; this block runs right after that write, in the same phase.
  // The reply lands meanwhile, and the 250 ms deadline timer is due before the next poll phase reads it.
  const written = geo.search(query);
  setImmediate(() => blockLoop(500));
  await expect(written).resolves.toMatchObject({ truncated: true });
});

it('still fails a call that gets no reply, counting only the time the loop was free to read one', async () => {
  const deadlines = new DeadlineQueue(150);
  const silent = new Promise<never>(() => undefined);
  const started = performance.now();
  await expect(deadlines.bound(silent, 'silent store')).rejects.toBeInstanceOf(DeadlineExceededError);
  expect(performance.now() - started).toBeGreaterThanOrEqual(150);

  const failed = deadlines.bound(silent, 'silent store').catch((error: unknown) => ({ error, at: performance.now() }));
  blockLoop(400);
  const unblockedAt = performance.now();
  const outcome = await failed;
  expect(outcome.error).toBeInstanceOf(DeadlineExceededError);
  // The 400 ms block does not count towards the 150 ms: the call had 150 ms of a free loop after it.
  expect(outcome.at - unblockedAt).toBeGreaterThanOrEqual(150 - 5);
});

it('keeps every nearby query on Redis through 500 ms loop stalls: no geo error, no switch to SQL', async () => {
  const rider = await connectSteadily(testHub.wsUrl('/ws/rider'));
  const errorsBefore = await geoErrorCount();
  let sent = 0;
  // A steady stream of queries, so every stall catches commands in every state: queued, written, answered but unread.
  const stream = setInterval(() => {
    rider.send({ t: 'nearby', id: ++sent, lat: 40.7589 + (sent % 20) * 1e-3, lng: -73.9851, radiusKm: 3, limit: 10 }, 'msgpack');
  }, 2);
  try {
    for (let stall = 0; stall < 5; stall++) {
      const answered = rider.received.length;
      await expect.poll(() => rider.received.length, { timeout: 10_000 }).toBeGreaterThan(answered + 20);
      // Blocked inside an I/O callback, as a storm of upgrades would: replies that land meanwhile
      // are read only in the next poll phase, after the timers that were due during the block.
      await new Promise<void>((resolve) =>
        rider.socket.once('message', () => {
          blockLoop(500);
          resolve();
        }),
      );
    }
    const answered = rider.received.length;
    await expect.poll(() => rider.received.length, { timeout: 10_000 }).toBeGreaterThan(answered + 20);
  } finally {
    clearInterval(stream);
  }
  const messages = rider.received.map((entry) => entry.message);
  expect(messages.filter((message) => message.t !== 'nearby.result')).toEqual([]);
  const sources = new Set(messages.map((message) => (message.t === 'nearby.result' ? message.source : message.t)));
  expect([...sources]).toEqual(['redis']);
  expect(await geoErrorCount()).toBe(errorsBefore);
  expect(testHub.hub.health.state).toBe('up');
  rider.close();
});

async function geoErrorCount(): Promise<number> {
  const metric = await testHub.hub.metrics.geoErrors.get();
  return metric.values.reduce((sum, value) => sum + value.value, 0);
}
