import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/protocol/errors.ts';
import { seedFleet, withDb } from './support/fleet.ts';
import { HOSTILE_CATEGORIES, oversized, type HostileCase, type Target, type WireEncoding } from './support/hostile-frames.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { TestClient } from './support/ws-client.ts';

/**
 * Every hostile frame must get a typed error or a close, never crash the hub,
 * never write, and never disturb a well-behaved driver streaming next to it.
 * Rate limits are lifted here so every frame reaches the decoder.
 */
const RUNS_PER_CATEGORY = 150;
const OVERSIZED_RUNS = 50;
const MAX_PAYLOAD_BYTES = 4096;
const REPLY_TIMEOUT_MS = 5000;

let testHub: TestHub;
let hostileDriverId: number;
let wellBehavedId: number;
const tally = { cases: 0, errors: 0, closes: 0 };
const closeCodes = new Map<number, number>();

beforeAll(async () => {
  testHub = await startTestHub('fuzz-ws', {
    WS_MAX_PAYLOAD_BYTES: String(MAX_PAYLOAD_BYTES),
    DRIVER_FRAMES_PER_S: '100000',
    DRIVER_FRAME_BURST: '100000',
    RIDER_QUERIES_PER_S: '100000',
    RIDER_QUERY_BURST: '100000',
  });
  const ids = await seedFleet(testHub, 2);
  hostileDriverId = ids[0]!;
  wellBehavedId = ids[1]!;
  hostileRowBefore = await driverRow(hostileDriverId);
  protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  wellBehaved = startWellBehavedDriver();
});
afterAll(async () => {
  await wellBehaved?.stop();
  for (const connection of Object.values(hostile)) connection.client?.close();
  await testHub.close();
});

let hostileRowBefore: Record<string, unknown> | undefined;
let protoBefore: string[];

function driverRow(id: number): Promise<Record<string, unknown> | undefined> {
  return withDb(
    testHub.db.url,
    async (db) => (await db.query<Record<string, unknown>>('SELECT lat, lng, status, last_seq, updated_at FROM drivers WHERE id = $1', [id])).rows[0],
  );
}

/** A hostile socket per role that comes back after the hub closes it. */
class HostileConnection {
  client: TestClient | undefined;

  constructor(private readonly target: Target) {}

  private async open(): Promise<TestClient> {
    if (this.client && !this.client.closeEvent) return this.client;
    const path = this.target === 'driver' ? `/ws/driver?id=${hostileDriverId}` : '/ws/rider';
    const client = await TestClient.connect(testHub.wsUrl(path));
    if (this.target === 'driver') await client.waitFor((m) => m.t === 'hello');
    this.client = client;
    return client;
  }

  /** Sends one frame and waits for what the hub does about it. */
  async exchange(hostileCase: HostileCase): Promise<{ error?: string; close?: number }> {
    const client = await this.open();
    const from = client.received.length;
    client.sendRaw(typeof hostileCase.payload === 'string' ? hostileCase.payload : Buffer.from(hostileCase.payload), hostileCase.binary);
    try {
      const reply = await client.waitFor(() => true, REPLY_TIMEOUT_MS, from);
      return { error: reply.t === 'error' ? reply.code : `unexpected ${reply.t}` };
    } catch (error) {
      if (!client.closeEvent) throw error;
      return { close: client.closeEvent.code };
    }
  }
}

const hostile: Record<Target, HostileConnection> = { driver: new HostileConnection('driver'), rider: new HostileConnection('rider') };

async function runCase(hostileCase: HostileCase): Promise<void> {
  const outcome = await hostile[hostileCase.target].exchange(hostileCase);
  tally.cases += 1;
  if (outcome.close !== undefined) {
    tally.closes += 1;
    closeCodes.set(outcome.close, (closeCodes.get(outcome.close) ?? 0) + 1);
  } else {
    tally.errors += 1;
    expect(ERROR_CODES).toContain(outcome.error);
  }
  if (hostileCase.mustClose) expect(outcome.close).toBeDefined();
}

interface WellBehaved {
  latenciesMs: number[];
  sent: number;
  stop(): Promise<void>;
}

let wellBehaved: WellBehaved | undefined;

/** A driver sending one frame every 20 ms for the whole run, timing each ack. */
function startWellBehavedDriver(): WellBehaved {
  const latenciesMs: number[] = [];
  const sentAt: number[] = [];
  let client: TestClient | undefined;
  let acked = 0;
  let timer: NodeJS.Timeout | undefined;
  const ready = TestClient.connect(testHub.wsUrl(`/ws/driver?id=${wellBehavedId}`)).then(async (connected) => {
    client = connected;
    await connected.waitFor((m) => m.t === 'hello');
    connected.socket.on('message', () => {
      const last = connected.received.at(-1)!;
      if (last.message.t !== 'ack') return;
      for (let seq = acked + 1; seq <= last.message.seq; seq++) latenciesMs.push(last.at - sentAt[seq - 1]!);
      acked = Math.max(acked, last.message.seq);
    });
    timer = setInterval(() => {
      sentAt.push(Date.now());
      connected.send({ t: 'loc', seq: sentAt.length, lat: 40.75, lng: -73.98 + sentAt.length * 1e-6 });
    }, 20);
  });
  return {
    latenciesMs,
    get sent() {
      return sentAt.length;
    },
    async stop() {
      await ready;
      clearInterval(timer);
      if (sentAt.length > 0) await client!.waitFor((m) => m.t === 'ack' && m.seq === sentAt.length);
      client!.close();
    },
  };
}

const encodings: WireEncoding[] = ['msgpack', 'json'];

describe.each(encodings)('hostile %s frames', (encoding) => {
  it.each(Object.keys(HOSTILE_CATEGORIES) as Array<keyof typeof HOSTILE_CATEGORIES>)('%s: a typed error or a close, every time', async (category) => {
    await fc.assert(fc.asyncProperty(HOSTILE_CATEGORIES[category](encoding), runCase), { numRuns: RUNS_PER_CATEGORY });
  });

  // uWS cuts such a connection without a close frame, so the client sees 1006.
  it('oversized frames: the connection is cut', async () => {
    await fc.assert(fc.asyncProperty(oversized(encoding, MAX_PAYLOAD_BYTES), runCase), { numRuns: OVERSIZED_RUNS });
  });
});

describe('after every hostile case', () => {
  it('the hub is up, wrote nothing for the hostile driver, and kept acking the well-behaved one promptly', async () => {
    expect((await fetch(testHub.httpUrl('/healthz'))).status).toBe(200);
    await wellBehaved!.stop();
    const { latenciesMs, sent } = wellBehaved!;
    wellBehaved = undefined;
    await testHub.hub.ingest.drain();

    expect(await driverRow(hostileDriverId)).toEqual(hostileRowBefore);
    const history = await withDb(testHub.db.url, (db) => db.query('SELECT driver_id, count(*)::int AS n FROM driver_locations GROUP BY driver_id'));
    expect(history.rows).toEqual([{ driver_id: wellBehavedId, n: sent }]);
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoBefore);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const sorted = [...latenciesMs].sort((a, b) => a - b);
    const percentile = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
    expect(sorted).toHaveLength(sent);
    // Generous: the flush interval is 50 ms; this only catches a hub stalled by hostile input.
    expect(percentile(99)).toBeLessThan(1000);

    const minimum = encodings.length * (Object.keys(HOSTILE_CATEGORIES).length * RUNS_PER_CATEGORY + OVERSIZED_RUNS);
    expect(tally.cases).toBeGreaterThanOrEqual(minimum);
    console.info(
      `fuzz-ws: ${tally.cases} hostile cases (${tally.errors} typed errors, ${tally.closes} closes: ${JSON.stringify(Object.fromEntries(closeCodes))}); ` +
        `well-behaved driver: ${sent} frames acked, ack latency p50 ${percentile(50)} ms, p99 ${percentile(99)} ms, max ${sorted.at(-1)} ms`,
    );
  });
});
