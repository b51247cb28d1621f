import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { NearbyResultMessage } from '../src/protocol/messages.ts';
import { killHubProcess, startHubProcess, type HubProcess } from './support/hub-process.ts';
import type { TestDatabase } from './support/postgres.ts';
import { createSeededDatabase } from './support/seeded-database.ts';
import { openSilentSocket, type SilentSocket } from './support/silent-socket.ts';
import { TestClient } from './support/ws-client.ts';

/**
 * 100 riders that never read and keep asking for the largest answer. The hub
 * runs as its own process so its RSS is its own. Each rider's outbound buffer
 * is bounded (64 KB here); beyond it queries are coalesced, and a rider that
 * stays over the bound for WS_SLOW_CLOSE_MS is closed.
 */
const SLOW_RIDERS = 100;
const MAX_BACKPRESSURE_BYTES = 64 * 1024;
const SLOW_CLOSE_MS = 4000;
const ASK_EVERY_MS = 10;

let db: TestDatabase;
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
  const readerLatencies: number[] = [];
  let readerId = 1000;
  const readerAsking = setInterval(() => {
    const id = ++readerId;
    const sentAt = Date.now();
    reader.send({ t: 'nearby', id, lat: 40.75, lng: -73.98, radiusKm: 2, limit: 10 });
    void reader.waitFor((m) => m.t === 'nearby.result' && m.id === id, 30_000).then(() => readerLatencies.push(Date.now() - sentAt));
  }, 200);

  const samples: Array<{ at: number; rss: number; coalesced: number; closed: number }> = [];
  const started = Date.now();
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const closed = await metric('hub_sockets_closed_total', '{reason="too_slow"}');
      samples.push({ at: Date.now() - started, rss: await rssMb(running.pid), coalesced: await metric('hub_results_coalesced_total'), closed });
      if (closed >= SLOW_RIDERS) break;
      if (Date.now() - started > 90_000) throw new Error(`slow riders not closed in time: ${JSON.stringify(samples.slice(-3))}`);
    }
  } finally {
    clearInterval(asking);
    clearInterval(readerAsking);
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = await rssMb(running.pid);
  const peak = Math.max(...samples.map((sample) => sample.rss));
  const stats = await (await fetch(running.httpUrl('/api/stats'))).json();

  // Every slow rider was closed for being slow; the reading rider is the one left.
  expect(stats.connections.riders).toBe(1);
  expect(samples.at(-1)!.coalesced).toBeGreaterThan(0);
  // While all of them were over the bound and still asking, memory did not climb.
  const saturated = samples.filter((sample) => sample.coalesced > 0);
  const saturatedGrowth = saturated.at(-1)!.rss - saturated[0]!.rss;
  // Generous: 100 buffers of 64 KB are 6.4 MB; the rest is garbage-collector headroom.
  expect(peak - before).toBeLessThan(96);
  expect(saturatedGrowth).toBeLessThan(32);
  expect(readerLatencies.length).toBeGreaterThan(0);
  expect(reader.closeEvent).toBeUndefined();
  reader.close();

  const sorted = [...readerLatencies].sort((a, b) => a - b);
  console.info(
    `backpressure: hub RSS before ${before.toFixed(1)} MB, peak ${peak.toFixed(1)} MB, after ${after.toFixed(1)} MB; ` +
      `growth while saturated ${saturatedGrowth.toFixed(1)} MB over ${((saturated.at(-1)!.at - saturated[0]!.at) / 1000).toFixed(1)} s; ` +
      `${samples.at(-1)!.coalesced} results coalesced; ${SLOW_RIDERS} slow riders closed with 4008 after ${(samples.at(-1)!.at / 1000).toFixed(1)} s; ` +
      `reading rider: ${sorted.length} answers, p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms`,
  );
});
