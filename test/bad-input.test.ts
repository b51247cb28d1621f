import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorMessage } from '../src/protocol/messages.ts';
import { seedFleet, withDb } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { connectSteadily } from './support/steady-connect.ts';

let testHub: TestHub;
let driverId: number;

beforeAll(async () => {
  testHub = await startTestHub('bad-input');
  driverId = (await seedFleet(testHub, 1))[0]!;
});
afterAll(() => testHub.close());

const rawPackr = new Packr({ useRecords: false });

async function writtenRows(): Promise<{ history: number; lastSeq: number }> {
  return withDb(testHub.db.url, async (db) => {
    const history = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM driver_locations');
    const driver = await db.query<{ s: number }>('SELECT last_seq::int AS s FROM drivers WHERE id = $1', [driverId]);
    return { history: history.rows[0]!.n, lastSeq: driver.rows[0]!.s };
  });
}

const driverCases: Array<[string, string | Buffer, boolean, string]> = [
  ['undecodable JSON', '{"t":"loc",', false, 'bad_frame'],
  ['undecodable msgpack', Buffer.from([0xc1, 0xff, 0x00]), true, 'bad_frame'],
  ['a JSON array', '[1,2,3]', false, 'bad_frame'],
  ['an unknown t', JSON.stringify({ t: 'teleport', seq: 1 }), false, 'unknown_type'],
  ['a missing t', JSON.stringify({ seq: 1, lat: 1, lng: 1 }), false, 'unknown_type'],
  ['a missing field', JSON.stringify({ t: 'loc', lat: 40, lng: -73 }), false, 'invalid_field'],
  ['a mistyped field', JSON.stringify({ t: 'loc', seq: '1', lat: 40, lng: -73 }), false, 'invalid_field'],
  ['a fractional seq', JSON.stringify({ t: 'loc', seq: 1.5, lat: 40, lng: -73 }), false, 'invalid_field'],
  ['lat above 90', JSON.stringify({ t: 'loc', seq: 1, lat: 90.5, lng: -73 }), false, 'out_of_range'],
  ['lng below -180', JSON.stringify({ t: 'loc', seq: 1, lat: 40, lng: -180.1 }), false, 'out_of_range'],
  ['NaN in msgpack', rawPackr.pack({ t: 'loc', seq: 1, lat: Number.NaN, lng: -73 }), true, 'invalid_field'],
  ['Infinity in msgpack', rawPackr.pack({ t: 'loc', seq: 1, lat: 40, lng: Number.POSITIVE_INFINITY }), true, 'invalid_field'],
  ['an unknown status', JSON.stringify({ t: 'status', status: 'asleep' }), false, 'invalid_field'],
];

describe('bad driver input', () => {
  it.each(driverCases)('%s gets an error frame, the socket stays open and nothing is written', async (_name, payload, binary, code) => {
    const before = await writtenRows();
    const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${driverId}`));
    await driver.waitFor((m) => m.t === 'hello');
    driver.sendRaw(payload, binary);
    const error = await driver.waitFor<ErrorMessage>((m) => m.t === 'error');
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
    // Still open and serving: a valid frame afterwards is acked.
    const seq = before.lastSeq + 1;
    driver.send({ t: 'loc', seq, lat: 40.7, lng: -73.9 });
    await driver.waitFor((m) => m.t === 'ack' && m.seq === seq);
    expect(driver.closeEvent).toBeUndefined();
    const after = await writtenRows();
    expect(after.history).toBe(before.history + 1);
    driver.close();
  });
});

const riderCases: Array<[string, object, string]> = [
  ['a radius over 50 km', { t: 'nearby', id: 'r1', lat: 40, lng: -73, radiusKm: 51 }, 'out_of_range'],
  ['a zero radius', { t: 'nearby', id: 'r2', lat: 40, lng: -73, radiusKm: 0 }, 'out_of_range'],
  ['a limit over 100', { t: 'nearby', id: 'r3', lat: 40, lng: -73, limit: 101 }, 'out_of_range'],
  ['a limit of 0', { t: 'nearby', id: 'r4', lat: 40, lng: -73, limit: 0 }, 'out_of_range'],
  ['lat out of range', { t: 'nearby', id: 'r5', lat: -91, lng: -73 }, 'out_of_range'],
  ['an unknown vehicle type', { t: 'nearby', id: 'r6', lat: 40, lng: -73, vehicleType: 'rocket' }, 'invalid_field'],
  ['a driver message on the rider socket', { t: 'loc', seq: 1, lat: 40, lng: -73 }, 'unknown_type'],
];

describe('bad rider input', () => {
  it.each(riderCases)('%s gets an error frame that echoes the request id, and the socket stays open', async (_name, message, code) => {
    const rider = await connectSteadily(testHub.wsUrl('/ws/rider'));
    rider.send(message, 'msgpack');
    const error = await rider.waitFor<ErrorMessage>((m) => m.t === 'error');
    expect(error.code).toBe(code);
    if ('id' in message) expect(error.id).toBe(message.id);
    rider.send({ t: 'nearby', id: 'ok', lat: 40.75, lng: -73.98 });
    await rider.waitFor((m) => m.t === 'nearby.result');
    rider.close();
  });
});
