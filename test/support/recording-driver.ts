import WebSocket from 'ws';
import { DriverSession } from '../../clients/core/driver-session.ts';
import type { LatencyHistogram } from '../../clients/lib/latency-histogram.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import { MAX_OPEN_ATTEMPTS, SETTLE_MS } from './steady-connect.ts';

/** Where a test driver is at a given seq: a pure function, so the database can be checked against it. */
export function framePosition(driverId: number, seq: number): { lat: number; lng: number } {
  return { lat: 40.7 + (driverId % 97) * 0.001 + seq * 1e-5, lng: -74 + (driverId % 89) * 0.001 - seq * 1e-5 };
}

/**
 * Frames a test driver keeps unacknowledged at most. No test comes near it;
 * a driver that would have to drop a frame records an error instead, so the
 * delivery checks fail loudly rather than on a mysterious gap.
 */
const MAX_UNACKED = 4096;

/**
 * A driver app as the protocol expects one to behave, on the clients' own
 * driver core (DriverSession): it numbers its frames from 1, keeps every
 * frame until an ack covers it, and after any reconnect resends everything
 * above the hub's `hello.lastSeq`. It records what it saw, so a test can
 * hold the hub to its promises.
 */
export class RecordingDriver {
  /** Highest seq an `ack` message covered. */
  lastAck = 0;
  readonly hellos: number[] = [];
  readonly closes: Array<{ code: number; reason: string }> = [];
  readonly errors: string[] = [];
  /** Sockets shut right after their hello and opened again (see SETTLE_MS). */
  droppedAtOpen = 0;
  /** Upgrades refused with 503 and tried again after the hub's Retry-After. */
  unavailableAtOpen = 0;
  private socket: WebSocket | undefined;
  /** The payload is the seq: a frame is encoded when it is sent, with the send time as its `ts`. */
  private readonly session: DriverSession<number>;
  private readonly send = (seq: number): boolean => {
    this.socket?.send(JSON.stringify({ t: 'loc', seq, ...framePosition(this.id, seq), ts: Date.now() }));
    return true;
  };

  /** @param ackLatencies when given, records send-to-ack milliseconds for every acked frame */
  constructor(
    readonly id: number,
    ackLatencies?: LatencyHistogram,
  ) {
    this.session = new DriverSession<number>({
      capacity: MAX_UNACKED,
      maxInFlight: Infinity,
      firstSeq: 1,
      events: {
        acked: (seq, sentAt, now) => {
          if (seq > this.lastAck) this.lastAck = seq;
          if (sentAt !== undefined) ackLatencies?.record(now - sentAt);
        },
        dropped: (seq) => this.errors.push(`more than ${MAX_UNACKED} frames unacknowledged: dropped seq ${seq}`),
      },
    });
  }

  /** Highest seq generated; frames made while disconnected go out on reconnect. */
  get lastSent(): number {
    return this.session.nextSeq! - 1;
  }

  get connected(): boolean {
    return this.session.isReady;
  }

  /** Frames sent but not yet covered by an ack. */
  get unacked(): number {
    return this.lastSent - this.lastAck;
  }

  /**
   * Opens a socket, waits for hello and resends every frame above its
   * lastSeq; resolves with that lastSeq once the socket has stayed open for
   * SETTLE_MS. A socket shut right after its hello is opened again, as a
   * driver app would (see SETTLE_MS for why that happens), and so is one the
   * hub refused with 503 (its database did not answer in time): after the
   * Retry-After it gave, within `timeoutMs` in all.
   */
  async connect(baseUrl: string, timeoutMs = 15_000): Promise<number> {
    const giveUpAt = Date.now() + timeoutMs;
    for (let attempt = 1; ;) {
      const opened = await this.openOnce(baseUrl, Math.max(1, giveUpAt - Date.now()));
      if ('retryAfterMs' in opened) {
        this.unavailableAtOpen += 1;
        if (Date.now() + opened.retryAfterMs >= giveUpAt) throw new Error(`driver ${this.id}: hub unavailable (503) for ${timeoutMs} ms`);
        // Sleep on purpose: the hub said when to come back.
        await new Promise((resolve) => setTimeout(resolve, opened.retryAfterMs));
        continue;
      }
      if (opened.settled) return opened.lastSeq;
      this.droppedAtOpen += 1;
      if (++attempt > MAX_OPEN_ATTEMPTS) throw new Error(`driver ${this.id}: shut right after hello ${MAX_OPEN_ATTEMPTS} times in a row`);
    }
  }

  private openOnce(baseUrl: string, timeoutMs: number): Promise<{ settled: boolean; lastSeq: number } | { retryAfterMs: number }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${baseUrl}/ws/driver?id=${this.id}`);
      this.socket = socket;
      socket.once('unexpected-response', (request, response) => {
        clearTimeout(timer);
        request.destroy();
        const retryAfterS = Number(response.headers['retry-after']);
        if (response.statusCode === 503 && Number.isFinite(retryAfterS)) resolve({ retryAfterMs: retryAfterS * 1000 });
        else reject(new Error(`driver ${this.id}: upgrade refused with HTTP ${response.statusCode}`));
      });
      let hello: number | undefined;
      let settling: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`driver ${this.id}: no hello within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on('message', (data: Buffer, binary: boolean) => {
        const message = decodeServerMessage(binary ? data : data.toString('utf8'));
        if (message.t === 'hello') {
          clearTimeout(timer);
          this.hellos.push(message.lastSeq);
          hello = message.lastSeq;
          this.session.hello(message.lastSeq);
          this.session.flush(this.send, performance.now());
          settling = setTimeout(() => {
            settling = undefined;
            resolve({ settled: true, lastSeq: message.lastSeq });
          }, SETTLE_MS);
        } else if (message.t === 'ack') {
          this.session.ack(message.seq, performance.now());
        } else if (message.t === 'error') {
          this.errors.push(message.code);
        }
      });
      socket.on('close', (code, reason) => {
        clearTimeout(timer);
        this.session.closed();
        if (settling && hello !== undefined) {
          clearTimeout(settling);
          resolve({ settled: false, lastSeq: hello });
          return;
        }
        this.closes.push({ code, reason: reason.toString() });
        reject(new Error(`driver ${this.id}: closed ${code} before hello`));
      });
      socket.on('error', (error) => {
        this.errors.push(`socket: ${error.message}`);
        clearTimeout(timer);
        this.session.closed();
        reject(error);
      });
    });
  }

  /** Makes the next frame and sends it if connected. */
  sendNext(): void {
    this.session.push((seq) => seq);
    this.session.flush(this.send, performance.now());
  }

  /** Sends every frame not yet acked again, as an app does after an `overloaded` pause. */
  resendUnacked(): void {
    this.session.refused();
    this.session.flush(this.send, performance.now());
  }

  close(): void {
    this.socket?.close();
  }

  terminate(): void {
    this.socket?.terminate();
  }
}

/** Connects drivers a few at a time, so the hub is not hit by hundreds of upgrades in one instant. */
export async function connectAll(drivers: RecordingDriver[], baseUrl: string, concurrency = 50): Promise<number[]> {
  const hellos: number[] = [];
  for (let start = 0; start < drivers.length; start += concurrency) {
    hellos.push(...(await Promise.all(drivers.slice(start, start + concurrency).map((driver) => driver.connect(baseUrl)))));
  }
  return hellos;
}

/** The drivers with frames still unacked, for a failure message. */
export function describeLagging(drivers: RecordingDriver[]): string {
  const lagging = drivers.filter((driver) => driver.unacked > 0);
  const sample = lagging.slice(0, 5).map((driver) =>
    JSON.stringify({
      id: driver.id,
      lastSent: driver.lastSent,
      lastAck: driver.lastAck,
      hellos: driver.hellos,
      closes: driver.closes,
      errors: driver.errors.slice(-3),
    }),
  );
  return `${lagging.length} of ${drivers.length} drivers have unacked frames: ${sample.join(' ')}`;
}

export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string, explain?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${explain ? `; ${explain()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
