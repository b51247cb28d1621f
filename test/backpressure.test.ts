import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import type { PrivateDatabase } from '../tools/testkit/database.ts';
import { createSeededDatabase } from './support/seeded-database.ts';
import { openSilentSocket, type SilentSocket } from './support/silent-socket.ts';
import { TestClient } from './support/ws-client.ts';

/**
 * 100 riders that never read and keep asking for the largest answer. The hub
 * runs as its own process so its RSS is its own. Each rider's outbound buffer
 * is bounded (64 KB here); beyond it queries are coalesced, and a rider that
 * stays over the bound for WS_SLOW_CLOSE_MS (the default, 10 s) is closed.
 *
 * Before the hub's buffer sees anything, the kernel absorbs ~4 MB per
 * connection, 400 MB in all: the riders' rate limit is lifted so that takes
 * seconds rather than minutes, and while it lasts the hub is saturated by
 * design. The bounds that matter are measured once every rider is over the
 * hub's bound.
 */
const SLOW_RIDERS = 100;
const MAX_BACKPRESSURE_BYTES = 64 * 1024;
const SLOW_CLOSE_MS = 10_000;
const ASK_EVERY_MS = 10;

let db: PrivateDatabase;
let hub: HubProcess | undefined;
const silent: SilentSocket[] = [];

beforeAll(async () => {
  ({ db } = await createSeededDatabase(300));
  hub = await startHubProcess(
    {
      DATABASE_URL: db.url,
      // Seeded drivers count as seen at seed time: keep them all in answers.
      STALE_AFTER_MS: '3600000',
      WS_MAX_BACKPRESSURE_BYTES: String(MAX_BACKPRESSURE_BYTES),
      WS_SLOW_CLOSE_MS: String(SLOW_CLOSE_MS),
      RIDER_QUERIES_PER_S: '1000',
      RIDER_QUERY_BURST: '1000',
    },
    'backpressure',
  );
});
afterAll(async () => {
  for (const socket of silent) socket.destroy();
  await killHubProcess(hub);
  await db.drop();
});

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await (await fetch(hub!.httpUrl('/metrics'))).text();
  const line = text.split('\n').find((row) => row.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

const largestQuery = (id: number) => JSON.stringify({ t: 'nearby', id, lat: 40.758, lng: -73.9855, radiusKm: 50, limit: 100 });

it('keeps the hub flat while 100 riders read nothing and keep asking, closes them with 4008, and keeps answering a reading rider', async () => {
  const running = hub!;
  // Warm up the query path and the JIT, so "before" is a steady state.
  const reader = await TestClient.connect(running.wsUrl('/ws/rider'));
  for (let id = 1; id <= 300; id++) reader.send({ t: 'nearby', id, lat: 40.758, lng: -73.9855, radiusKm: 50, limit: 100 });
  const warm = await reader.waitFor<NearbyResultMessage>((m) => m.t === 'nearby.result' && m.id === 300);
  expect(warm.drivers).toHaveLength(100);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = await rssMb(running.pid);

  for (let index = 0; index < SLOW_RIDERS; index++) silent.push(await openSilentSocket(running.port, '/ws/rider'));
  let nextId = 1;
  const asking = setInterval(() => {
    for (const socket of silent) socket.sendText(largestQuery(nextId++));
  }, ASK_EVERY_MS);

  // The reading rider keeps asking too, and must keep getting answers.
  const readerAnswers: Array<{ sentAt: number; latencyMs: number }> = [];
  let readerId = 1000;
  const readerAsking = setInterval(() => {
    const id = ++readerId;
    const sentAt = Date.now();
    void reader.waitFor((m) => m.t === 'nearby.result' && m.id === id, 60_000).then(() => readerAnswers.push({ sentAt, latencyMs: Date.now() - sentAt }));
    reader.send({ t: 'nearby', id, lat: 40.75, lng: -73.98, radiusKm: 2, limit: 10 });
  }, 100);

  const samples: Array<{ at: number; rss: number; slow: number; closed: number; coalesced: number }> = [];
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const closed = await metric('hub_sockets_closed_total', '{reason="too_slow"}');
      samples.push({ at: Date.now(), rss: await rssMb(running.pid), slow: await metric('hub_slow_sockets'), closed, coalesced: await metric('hub_results_coalesced_total') });
      if (closed >= SLOW_RIDERS) break;
      if (samples.length > 360) throw new Error(`slow riders not closed in time: ${JSON.stringify(samples.slice(-3))}`);
    }
  } finally {
    clearInterval(asking);
    clearInterval(readerAsking);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = await rssMb(running.pid);
  const stats = await (await fetch(running.httpUrl('/api/stats'))).json();

  // Every slow rider was closed for being slow; the reading rider is the one left.
  expect(stats.connections.riders).toBe(1);
  expect(reader.closeEvent).toBeUndefined();
  reader.close();

  // Saturated: every slow rider over the bound and still asking, none closed yet.
  const saturated = samples.filter((sample) => sample.slow >= SLOW_RIDERS && sample.closed === 0);
  expect(saturated.length).toBeGreaterThanOrEqual(2);
  const [first, last] = [saturated[0]!, saturated.at(-1)!];
  const saturatedGrowth = last.rss - first.rss;
  const peak = Math.max(...samples.map((sample) => sample.rss));
  const readerWhileSaturated = readerAnswers
    .filter((answer) => answer.sentAt >= first.at && answer.sentAt <= last.at)
    .map((answer) => answer.latencyMs)
    .sort((a, b) => a - b);
  const fillLatencies = readerAnswers
    .filter((answer) => answer.sentAt < first.at)
    .map((answer) => answer.latencyMs)
    .sort((a, b) => a - b);
  expect(last.coalesced - first.coalesced).toBeGreaterThan(0);
  // Generous bounds: 100 buffers of 64 KB are 6.4 MB; the rest is garbage-collector headroom.
  expect(peak - before).toBeLessThan(96);
  expect(saturatedGrowth).toBeLessThan(16);
  expect(readerWhileSaturated.length).toBeGreaterThan(0);
  expect(readerWhileSaturated[Math.floor(readerWhileSaturated.length / 2)]).toBeLessThan(1000);

  const p = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
  console.info(
    `backpressure: hub RSS before ${before.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, after ${after.toFixed(1)} MB; ` +
      `while all ${SLOW_RIDERS} riders were over the bound and asking (${((last.at - first.at) / 1000).toFixed(1)} s): ` +
      `RSS ${first.rss.toFixed(1)} -> ${last.rss.toFixed(1)} MB, ${last.coalesced - first.coalesced} results coalesced, ` +
      `reading rider p50 ${p(readerWhileSaturated, 0.5)} ms, max ${readerWhileSaturated.at(-1)} ms (${readerWhileSaturated.length} answers); ` +
      `while the kernel buffers filled: reading rider p50 ${p(fillLatencies, 0.5)} ms, max ${fillLatencies.at(-1)} ms; ` +
      `all ${SLOW_RIDERS} closed with 4008 ${((samples.at(-1)!.at - samples[0]!.at) / 1000).toFixed(1)} s after they connected`,
  );
});
