import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonCodec, msgpackCodec } from '../src/protocol/codec.ts';
import { HubError } from '../src/protocol/errors.ts';
import type { ErrorMessage } from '../src/protocol/messages.ts';
import { decodeServerMessage, parseDriverMessage, parseRiderMessage } from '../src/protocol/parse.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { connectSteadily } from './support/steady-connect.ts';

/** The HubError a parse throws, so its code, message and echoed references can be checked. */
function refusal(parse: () => unknown): HubError {
  try {
    parse();
  } catch (error) {
    if (error instanceof HubError) return error;
    throw error;
  }
  throw new Error('the frame was accepted');
}

describe('parse errors say what was expected and carry what can be echoed', () => {
  it('an unknown type echoes a readable id and lists the accepted types', () => {
    const error = refusal(() => parseRiderMessage(jsonCodec, JSON.stringify({ t: 'foo', id: 'q2' })));
    expect(error.code).toBe('unknown_type');
    expect(error.requestId).toBe('q2');
    expect(error.message).toContain('nearby');
  });

  it('a missing t still echoes the id', () => {
    const error = refusal(() => parseRiderMessage(msgpackCodec, msgpackCodec.encode({ id: 7, lat: 1, lng: 1 })));
    expect(error.code).toBe('unknown_type');
    expect(error.requestId).toBe(7);
  });

  it('a missing id names the field and the types it may have', () => {
    const error = refusal(() => parseRiderMessage(jsonCodec, JSON.stringify({ t: 'nearby', lat: 40, lng: -73 })));
    expect(error.code).toBe('invalid_field');
    expect(error.message).toBe('id: required, expected a string of at most 64 characters or an integer');
  });

  it('a mistyped id says what it got', () => {
    const error = refusal(() => parseRiderMessage(jsonCodec, JSON.stringify({ t: 'nearby', id: true, lat: 40, lng: -73 })));
    expect(error.message).toBe('id: expected a string of at most 64 characters or an integer, received boolean');
  });

  it('a missing number says it is required', () => {
    const error = refusal(() => parseDriverMessage(jsonCodec, JSON.stringify({ t: 'loc', seq: 3, lng: -73 })));
    expect(error.message).toBe('lat: required, expected number');
    expect(error.seq).toBe(3);
  });

  it('an unknown field is named with the fields that are accepted, nested ones too', () => {
    const top = refusal(() => parseRiderMessage(jsonCodec, JSON.stringify({ t: 'nearby', id: 'q1', lat: 40, lng: -73, radius: 2 })));
    expect(top).toMatchObject({ code: 'invalid_field', requestId: 'q1' });
    expect(top.message).toBe('frame: unknown field "radius"; expected only t, id, lat, lng, radiusKm, limit, vehicleType, minRating');
    const nested = refusal(() =>
      parseRiderMessage(
        jsonCodec,
        JSON.stringify({ t: 'ride.request', id: 'r1', pickup: { lat: 40, lng: -73, latitude: 40 }, dropoff: { lat: 40.1, lng: -73 } }),
      ),
    );
    expect(nested.message).toBe('pickup: unknown field "latitude"; expected only lat, lng');
  });

  it('a refused loc frame carries its seq; other frames do not', () => {
    const loc = refusal(() => parseDriverMessage(jsonCodec, JSON.stringify({ t: 'loc', seq: 12, lat: 91, lng: -73 })));
    expect(loc).toMatchObject({ code: 'out_of_range', seq: 12 });
    const status = refusal(() => parseDriverMessage(jsonCodec, JSON.stringify({ t: 'status', status: 'asleep', seq: 4 })));
    expect(status.seq).toBeUndefined();
  });
});

describe('decodeServerMessage', () => {
  it('decodes JSON text and msgpack bytes into validated messages', () => {
    expect(decodeServerMessage(JSON.stringify({ t: 'ack', seq: 5 }))).toEqual({ t: 'ack', seq: 5 });
    const bytes = msgpackCodec.encode({ t: 'hello', driverId: 3, lastSeq: 0 }) as Uint8Array;
    expect(decodeServerMessage(bytes)).toEqual({ t: 'hello', driverId: 3, lastSeq: 0 });
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    expect(decodeServerMessage(copy)).toEqual({ t: 'hello', driverId: 3, lastSeq: 0 });
  });

  it('drops fields a later hub may add, so v1 clients keep working', () => {
    expect(decodeServerMessage(JSON.stringify({ t: 'ack', seq: 5, extra: true }))).toEqual({ t: 'ack', seq: 5 });
  });

  it('throws a typed error for frames that are not server messages', () => {
    expect(refusal(() => decodeServerMessage('{"t":')).code).toBe('bad_frame');
    expect(refusal(() => decodeServerMessage(JSON.stringify({ t: 'nearby', id: 1, lat: 1, lng: 1 }))).code).toBe('unknown_type');
    expect(refusal(() => decodeServerMessage(JSON.stringify({ t: 'error', code: 'no_such_code', message: 'x' }))).code).toBe('invalid_field');
  });
});

describe('error frames on the wire', () => {
  let testHub: TestHub;
  let driverId: number;

  beforeAll(async () => {
    // A burst of 3 frames and one pending frame: rate limits and the pending bound are easy to reach.
    testHub = await startTestHub('protocol-errors', { DRIVER_FRAME_BURST: '3', DRIVER_FRAMES_PER_S: '1', PENDING_MAX_FRAMES: '1', BATCH_FLUSH_MS: '2000' });
    driverId = (await seedFleet(testHub, 1))[0]!;
  });
  afterAll(() => testHub.close());

  it('an unknown type echoes the request id', async () => {
    const rider = await connectSteadily(testHub.wsUrl('/ws/rider'));
    rider.send({ t: 'foo', id: 'q2' });
    const error = await rider.waitFor<ErrorMessage>((m) => m.t === 'error');
    expect(error).toMatchObject({ code: 'unknown_type', id: 'q2' });
    rider.close();
  });

  it('refused loc frames carry their seq: invalid, over the pending bound, over the rate limit', async () => {
    const driver = await connectSteadily(testHub.wsUrl(`/ws/driver?id=${driverId}`));
    await driver.waitFor((m) => m.t === 'hello');
    driver.send({ t: 'loc', seq: 1, lat: 91, lng: -73 });
    expect(await driver.waitFor<ErrorMessage>((m) => m.t === 'error')).toMatchObject({ code: 'out_of_range', seq: 1 });
    // Seq 1 fills the pending bound of one frame (the flush waits 2 s), so seq 2 is refused as overloaded.
    driver.send({ t: 'loc', seq: 1, lat: 40.7, lng: -73.9 });
    driver.send({ t: 'loc', seq: 2, lat: 40.7, lng: -73.9 });
    // The burst of 3 is spent: seq 3 is over the rate limit.
    driver.send({ t: 'loc', seq: 3, lat: 40.7, lng: -73.9 });
    const overloaded = await driver.waitFor<ErrorMessage>((m) => m.t === 'error' && m.code === 'overloaded');
    expect(overloaded.seq).toBe(2);
    const limited = await driver.waitFor<ErrorMessage>((m) => m.t === 'error' && m.code === 'rate_limited');
    expect(limited.seq).toBe(3);
    driver.close();
  });
});
