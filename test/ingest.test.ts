import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HelloMessage, ServerMessage } from '../src/protocol/messages.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { seedFleet, withDb } from './support/fleet.ts';
import { TestClient } from './support/ws-client.ts';
import { connectSteadily } from './support/steady-connect.ts';
import { readRedisIndex } from './support/index-check.ts';
import { cellKeysFor } from '../src/geo/redis-index.ts';

let testHub: TestHub;
let driverIds: number[];

beforeAll(async () => {
  testHub = await startTestHub('ingest');
  driverIds = await seedFleet(testHub, 5);
});
afterAll(() => testHub.close());

const isAck = (seq: number) => (message: ServerMessage) => message.t === 'ack' && message.seq >= seq;

/** Where the index holds a driver (GEO set of its cell), read past the hub; null when in no cell. */
async function geoPos(id: number): Promise<[number, number] | null> {
  const held = (await readRedisIndex(testHub.redisUrl, testHub.prefix)).get(id);
  if (!held) return null;
  const client = createClient({ url: testHub.redisUrl });
  await client.connect();
  try {
    const [position] = await client.geoPos(cellKeysFor(testHub.prefix, held.cells[0]!)[0], String(id));
    return position ? [Number(position.longitude), Number(position.latitude)] : null;
  } finally {
    await client.close();
  }
}

describe('driver ingest over WebSocket', () => {
  it('commits every frame, the latest position and the geo index, and acks the highest seq', async () => {
    const id = driverIds[0]!;
    const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`));
    const hello = await driver.waitFor<HelloMessage>((m) => m.t === 'hello');
    expect(hello).toEqual({ t: 'hello', driverId: id, lastSeq: 0 });
    driver.send({ t: 'status', status: 'online' }, 'msgpack');
    const frames = 200;
    for (let seq = 1; seq <= frames; seq++) {
      driver.send({ t: 'loc', seq, lat: 40.75 + seq * 1e-5, lng: -73.98 - seq * 1e-5, ts: Date.now() }, 'msgpack');
    }
    await driver.waitFor(isAck(frames));
    const acks = driver.received.filter((entry) => entry.message.t === 'ack');
    expect(acks.at(-1)!.message).toMatchObject({ t: 'ack', seq: frames });
    // Replies take the encoding of the frames they answer.
    expect(acks.every((entry) => entry.binary)).toBe(true);

    await withDb(testHub.db.url, async (db) => {
      const { rows } = await db.query('SELECT lat, lng, last_seq, status FROM drivers WHERE id = $1', [id]);
      expect(rows[0]).toMatchObject({ lat: 40.75 + frames * 1e-5, lng: -73.98 - frames * 1e-5, last_seq: String(frames), status: 'online' });
      const history = await db.query('SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct_seqs FROM driver_locations WHERE driver_id = $1', [id]);
      expect(history.rows[0]).toEqual({ n: frames, distinct_seqs: frames });
    });
    const position = await geoPos(id);
    expect(position![0]).toBeCloseTo(-73.98 - frames * 1e-5, 5);
    expect(position![1]).toBeCloseTo(40.75 + frames * 1e-5, 5);
    driver.close();
  });

  it('acks resends again without writing them twice, and hello tells a reconnecting driver where to resume', async () => {
    const id = driverIds[1]!;
    const first = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`));
    await first.waitFor((m) => m.t === 'hello');
    for (let seq = 1; seq <= 10; seq++) first.send({ t: 'loc', seq, lat: 40.7, lng: -74 });
    await first.waitFor(isAck(10));
    first.close();
    await first.waitForClose();

    const second = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`));
    const hello = await second.waitFor<HelloMessage>((m) => m.t === 'hello');
    expect(hello.lastSeq).toBe(10);
    for (let seq = 5; seq <= 12; seq++) second.send({ t: 'loc', seq, lat: 40.71, lng: -74.01 });
    await second.waitFor(isAck(12));
    await withDb(testHub.db.url, async (db) => {
      const { rows } = await db.query<{ seq: number }>('SELECT seq::int FROM driver_locations WHERE driver_id = $1 ORDER BY seq', [id]);
      expect(rows.map((row) => row.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    });
    second.close();
  });

  it('takes an offline driver out of the geo index and puts it back when it comes online', async () => {
    const id = driverIds[2]!;
    const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${id}`));
    await driver.waitFor((m) => m.t === 'hello');
    driver.send({ t: 'status', status: 'online' });
    driver.send({ t: 'loc', seq: 1, lat: 40.76, lng: -73.99 });
    await driver.waitFor(isAck(1));
    expect(await geoPos(id)).not.toBeNull();
    const mark = driver.received.length;
    driver.send({ t: 'status', status: 'offline' });
    await driver.waitFor((m) => m.t === 'ack', 5000, mark);
    await expect.poll(() => geoPos(id)).toBeNull();
    await withDb(testHub.db.url, async (db) => {
      const { rows } = await db.query<{ status: string }>('SELECT status FROM drivers WHERE id = $1', [id]);
      expect(rows[0]?.status).toBe('offline');
    });
    driver.send({ t: 'status', status: 'online' });
    driver.send({ t: 'loc', seq: 2, lat: 40.761, lng: -73.991 });
    await driver.waitFor(isAck(2));
    await expect.poll(() => geoPos(id)).not.toBeNull();
    driver.close();
  });

  it('refuses an unknown driver at upgrade with 404', async () => {
    await expect(TestClient.connect(testHub.wsUrl('/ws/driver?id=999999'))).rejects.toThrow(/HTTP 404/);
    await expect(TestClient.connect(testHub.wsUrl('/ws/driver?id=abc'))).rejects.toThrow(/HTTP 400/);
  });
});
