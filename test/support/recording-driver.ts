import WebSocket from 'ws';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { MAX_OPEN_ATTEMPTS, SETTLE_MS } from './steady-connect.ts';

/** Where a test driver is at a given seq: a pure function, so the database can be checked against it. */
export function framePosition(driverId: number, seq: number): { lat: number; lng: number } {
  return { lat: 40.7 + (driverId % 97) * 0.001 + seq * 1e-5, lng: -74 + (driverId % 89) * 0.001 - seq * 1e-5 };
}

/**
 * A driver app as the protocol expects one to behave: it numbers its frames,
 * keeps every frame until an ack covers it, and after any reconnect resends
 * everything above the hub's `hello.lastSeq`. It records what it saw, so a
 * test can hold the hub to its promises.
 */
export class RecordingDriver {
  /** Highest seq generated; frames made while disconnected go out on reconnect. */
  lastSent = 0;
  /** Highest seq an `ack` message covered. */
  lastAck = 0;
  readonly hellos: number[] = [];
  readonly closes: Array<{ code: number; reason: string }> = [];
  readonly errors: string[] = [];
  /** Sockets shut right after their hello and opened again (see SETTLE_MS). */
  droppedAtOpen = 0;
  private socket: WebSocket | undefined;
  private ready = false;
  private readonly firstSentAt = new Map<number, number>();

  /** @param ackLatencies when given, receives send-to-ack milliseconds for every frame's first send */
  constructor(
    readonly id: number,
    private readonly ackLatencies?: number[],
  ) {}

  get connected(): boolean {
    return this.ready;
  }

  /** Frames sent but not yet covered by an ack. */
  get unacked(): number {
    return this.lastSent - this.lastAck;
  }

  /**
   * Opens a socket, waits for hello and resends every frame above its
   * lastSeq; resolves with that lastSeq once the socket has stayed open for
   * SETTLE_MS. A socket shut right after its hello is opened again, as a
   * driver app would (see SETTLE_MS for why that happens).
   */
  async connect(baseUrl: string, timeoutMs = 15_000): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const opened = await this.openOnce(baseUrl, timeoutMs);
      if (opened.settled) return opened.lastSeq;
      this.droppedAtOpen += 1;
      if (attempt >= MAX_OPEN_ATTEMPTS) throw new Error(`driver ${this.id}: shut right after hello ${attempt} times in a row`);
    }
  }

  private openOnce(baseUrl: string, timeoutMs: number): Promise<{ settled: boolean; lastSeq: number }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`${baseUrl}/ws/driver?id=${this.id}`);
      this.socket = socket;
      let hello: number | undefined;
      let settling: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`driver ${this.id}: no hello within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString('utf8')) as ServerMessage;
        if (message.t === 'hello') {
          clearTimeout(timer);
          this.hellos.push(message.lastSeq);
          this.ready = true;
          hello = message.lastSeq;
          for (let seq = message.lastSeq + 1; seq <= this.lastSent; seq++) this.sendFrame(seq);
          settling = setTimeout(() => {
            settling = undefined;
            resolve({ settled: true, lastSeq: message.lastSeq });
          }, SETTLE_MS);
        } else if (message.t === 'ack') {
          this.recordAck(message.seq);
        } else if (message.t === 'error') {
          this.errors.push(message.code);
        }
      });
      socket.on('close', (code, reason) => {
        clearTimeout(timer);
        this.ready = false;
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
        this.ready = false;
        reject(error);
      });
    });
  }

  /** Makes the next frame and sends it if connected. */
  sendNext(): void {
    this.lastSent += 1;
    if (this.ready) this.sendFrame(this.lastSent);
  }

  /** Sends every frame not yet acked again, as an app does after an `overloaded` pause. */
  resendUnacked(): void {
    if (!this.ready) return;
    for (let seq = this.lastAck + 1; seq <= this.lastSent; seq++) this.sendFrame(seq);
  }

  close(): void {
    this.socket?.close();
  }

  terminate(): void {
    this.socket?.terminate();
  }

  private sendFrame(seq: number): void {
    const now = Date.now();
    if (this.ackLatencies && !this.firstSentAt.has(seq) && seq > this.lastAck) this.firstSentAt.set(seq, now);
    this.socket?.send(JSON.stringify({ t: 'loc', seq, ...framePosition(this.id, seq), ts: now }));
  }

  private recordAck(seq: number): void {
    if (seq <= this.lastAck) return;
    if (this.ackLatencies) {
      const now = Date.now();
      for (let covered = this.lastAck + 1; covered <= seq; covered++) {
        const sentAt = this.firstSentAt.get(covered);
        if (sentAt !== undefined) this.ackLatencies.push(now - sentAt);
        this.firstSentAt.delete(covered);
      }
    }
    this.lastAck = seq;
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
    JSON.stringify({ id: driver.id, lastSent: driver.lastSent, lastAck: driver.lastAck, hellos: driver.hellos, closes: driver.closes, errors: driver.errors.slice(-3) }),
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

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}
