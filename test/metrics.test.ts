import { afterAll, beforeAll, expect, it } from 'vitest';
import type { AckMessage } from '../src/protocol/messages.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { connectSteadily } from './support/steady-connect.ts';

let testHub: TestHub;
let ids: number[];

beforeAll(async () => {
  testHub = await startTestHub('metrics');
  ids = await seedFleet(testHub, 50);
});
afterAll(() => testHub.close());

async function scrape(): Promise<{ text: string; contentType: string; value(series: string): number | undefined }> {
  const response = await fetch(testHub.httpUrl('/metrics'));
  expect(response.status).toBe(200);
  const text = await response.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return { text, contentType: response.headers.get('content-type') ?? '', value: (series) => values.get(series) };
}

it('counts traffic by role, frame type, refusal reason and nearby source, and exposes the batch and store counters', async () => {
  const before = await scrape();
  const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${ids[0]}`));
  await driver.waitFor((m) => m.t === 'hello');
  const rider = await connectSteadily(testHub.wsUrl('/ws/rider'));
  driver.send({ t: 'status', status: 'online' }, 'msgpack');
  for (let seq = 1; seq <= 20; seq++) driver.send({ t: 'loc', seq, lat: 40.75 + seq * 1e-4, lng: -73.98 }, 'msgpack');
  await driver.waitFor<AckMessage>((m) => m.t === 'ack' && m.seq === 20);
  driver.send({ t: 'loc', seq: 21, lat: 95, lng: -73.98 }, 'msgpack');
  await driver.waitFor((m) => m.t === 'error');
  rider.send({ t: 'nearby', id: 'q1', lat: 40.7589, lng: -73.9851 });
  await rider.waitFor((m) => m.t === 'nearby.result');

  const after = await scrape();
  expect(after.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  const moved = (series: string) => (after.value(series) ?? 0) - (before.value(series) ?? 0);
  expect(after.value('hub_connections{role="driver"}')).toBe(1);
  expect(after.value('hub_connections{role="rider"}')).toBe(1);
  // Received counts frames that decoded; the refused one is counted under its reason instead.
  expect(moved('hub_frames_received_total{type="loc"}')).toBe(20);
  expect(moved('hub_frames_received_total{type="status"}')).toBe(1);
  expect(moved('hub_frames_acked_total')).toBe(20);
  expect(moved('hub_frames_refused_total{reason="out_of_range"}')).toBe(1);
  expect(moved('hub_batch_frames_count')).toBeGreaterThanOrEqual(1);
  expect(moved('hub_batch_frames_sum')).toBe(20);
  expect(moved('hub_flush_duration_seconds_count')).toBe(moved('hub_batch_frames_count'));
  expect(moved('hub_nearby_duration_seconds_count{source="redis"}')).toBe(1);
  expect(moved('hub_store_round_trips_total')).toBeGreaterThanOrEqual(1);
  expect(moved('hub_store_round_trips_total')).toBeLessThan(20);
  expect(moved('hub_geo_positions_written_total')).toBeGreaterThanOrEqual(1);
  expect(after.value('hub_geo_fallback')).toBe(0);
  expect(after.value('hub_pending_frames')).toBe(0);
  // Error counters and the default process metrics are declared even before anything is counted.
  expect(after.text).toContain('# TYPE hub_store_errors_total counter');
  expect(after.text).toContain('# TYPE hub_geo_errors_total counter');
  expect(after.value('hub_process_resident_memory_bytes')).toBeGreaterThan(0);
  // The event-loop delay histogram samples every millisecond and keeps counting across scrapes.
  expect(moved('hub_event_loop_delay_seconds_count')).toBeGreaterThan(0);
  expect(after.value('hub_event_loop_delay_seconds_bucket{le="+Inf"}')).toBe(after.value('hub_event_loop_delay_seconds_count'));
  expect(after.value('hub_event_loop_delay_seconds_bucket{le="0.001"}')).toBeLessThanOrEqual(after.value('hub_event_loop_delay_seconds_bucket{le="0.002"}')!);

  driver.close();
  rider.close();
  await driver.waitForClose();
  await rider.waitForClose();
  await expect.poll(async () => (await scrape()).value('hub_connections{role="driver"}')).toBe(0);
});

it('names every metric of its own by Prometheus conventions', async () => {
  const { text } = await scrape();
  // prom-client's default process and Node.js metrics keep their standard names.
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)]
    .map((match) => ({ name: match[1]!, type: match[2]! }))
    .filter(({ name }) => !name.startsWith('hub_process_') && !name.startsWith('hub_nodejs_'));
  expect(families.length).toBeGreaterThan(10);
  for (const { name, type } of families) {
    expect(name).toMatch(/^hub_[a-z][a-z0-9_]*$/);
    // Counters, and only counters, end in _total; durations are in seconds.
    expect(name.endsWith('_total'), name).toBe(type === 'counter');
    if (/duration|latency|time/.test(name)) expect(name).toMatch(/_seconds$/);
  }
});
