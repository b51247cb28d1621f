import { msgpackCodec } from '../../src/protocol/codec.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import { createRng, deriveSeed, type Rng } from '../../src/domain/random.ts';
import type { HubAddress, LoadTask, TaskResult, TokenSpec } from './load-protocol.ts';
import { TaskRun, sleep, waitUntil, type ProgressSink } from './task-run.ts';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { tokenQuery } from './tokens.ts';
import { encodeClientFrame, WireSocket } from '../../clients/core/wire-socket.ts';

/** Send times kept per driver, by seq modulo this: more unacked frames than this is a stall. */
const RING = 64;
/** How long a task waits after its last send for the acks of frames still in flight. */
const DRAIN_MS = 3000;
const TICK_MS = 5;
/** About 5 m per frame: drivers move, so the index really is rewritten. */
const STEP_DEG = 5e-5;

type StreamRate = Extract<LoadTask, { kind: 'stream-rate' }>;
type StreamWindow = Extract<LoadTask, { kind: 'stream-window' }>;

/**
 * This worker's share of the driver fleet: one raw WebSocket per driver,
 * msgpack `loc` frames, and the send time of every unacknowledged frame so
 * each ack yields the latency of every frame it covers.
 */
export class DriverFleet {
  private sockets: Array<WireSocket | undefined> = [];
  private ids = new Int32Array(0);
  private nextSeq = new Float64Array(0);
  private ackedSeq = new Float64Array(0);
  private sentAt = new Float64Array(0);
  private lat = new Float64Array(0);
  private lng = new Float64Array(0);
  private ready = new Uint8Array(0);
  private run: TaskRun | undefined;
  /** Window mode: how many frames each driver keeps unacknowledged. */
  private window = 0;
  private rng: Rng = createRng(1);

  async connect(hub: HubAddress, firstId: number, count: number, concurrency: number, token: TokenSpec | undefined, progress: ProgressSink): Promise<TaskResult> {
    const run = new TaskRun(0, progress);
    this.ids = Int32Array.from({ length: count }, (_, index) => firstId + index);
    this.nextSeq = new Float64Array(count);
    this.ackedSeq = new Float64Array(count);
    this.sentAt = new Float64Array(count * RING);
    this.lat = new Float64Array(count);
    this.lng = new Float64Array(count);
    this.ready = new Uint8Array(count);
    this.sockets = new Array(count).fill(undefined);
    this.rng = createRng(deriveSeed('bench-drivers', firstId));
    let next = 0;
    let settled = 0;
    await new Promise<void>((resolve) => {
      const openOne = async (): Promise<void> => {
        const index = next++;
        if (index >= count) return;
        const started = performance.now();
        const query = await tokenQuery(token, { role: 'driver', driverId: this.ids[index]! });
        let counted = false;
        const settle = (ok: boolean, reason?: string) => {
          if (counted) return;
          counted = true;
          settled += 1;
          if (ok) {
            run.completed += 1;
            run.latency.record(performance.now() - started);
          } else {
            run.error(reason ?? 'failed');
          }
          run.sent = settled;
          if (settled === count) resolve();
          else void openOne();
        };
        this.sockets[index] = new WireSocket(hub.host, hub.port, `/ws/driver?id=${this.ids[index]}&encoding=msgpack${query}`, {
          onOpen: () => undefined,
          onMessage: (payload) => {
            const message = decodeServerMessage(payload);
            if (message.t === 'hello') {
              this.nextSeq[index] = message.lastSeq + 1;
              this.ackedSeq[index] = message.lastSeq;
              this.ready[index] = 1;
              settle(true);
            } else {
              this.handle(index, message);
            }
          },
          onClose: (reason) => {
            this.ready[index] = 0;
            if (!counted) settle(false, reason.slice(0, 80));
            else if (this.run) this.run.error('socket closed');
          },
        });
      };
      if (count === 0) resolve();
      for (let i = 0; i < Math.min(concurrency, count); i++) void openOne();
    });
    run.count('connected', run.completed);
    return run.finish();
  }

  async disconnect(): Promise<void> {
    for (const socket of this.sockets) socket?.close();
    this.sockets = [];
    await sleep(200);
  }

  async streamRate(task: StreamRate, progress: ProgressSink): Promise<TaskResult> {
    const run = this.begin(task.warmupMs, task.center, progress);
    const count = this.ids.length;
    const perMs = (count * task.perDriverHz) / 1000;
    const started = performance.now();
    let issued = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = performance.now() - started;
        const due = Math.floor(Math.min(elapsed, task.durationMs) * perMs);
        while (issued < due) {
          const index = issued % count;
          issued += 1;
          if (!this.ready[index]) {
            run.error('driver not connected');
            continue;
          }
          if (this.nextSeq[index]! - this.ackedSeq[index]! > RING - 1) {
            run.error('stalled: too many unacked frames');
            continue;
          }
          this.sendFrame(index);
        }
        if (elapsed >= task.durationMs) {
          clearInterval(timer);
          resolve();
        }
      }, TICK_MS);
    });
    return this.end(run);
  }

  async streamWindow(task: StreamWindow, progress: ProgressSink): Promise<TaskResult> {
    if (task.window > RING - 1) throw new RangeError(`window must be below ${RING}`);
    const run = this.begin(task.warmupMs, task.center, progress);
    this.window = task.window;
    for (let index = 0; index < this.ids.length; index++) this.topUp(index);
    await sleep(task.durationMs);
    this.window = 0;
    return this.end(run);
  }

  private begin(warmupMs: number, center: { lat: number; lng: number; spreadKm: number }, progress: ProgressSink): TaskRun {
    for (let index = 0; index < this.ids.length; index++) {
      const point = randomPointInDisc(this.rng, center, center.spreadKm);
      this.lat[index] = point.lat;
      this.lng[index] = point.lng;
    }
    this.run = new TaskRun(warmupMs, progress);
    return this.run;
  }

  private async end(run: TaskRun): Promise<TaskResult> {
    run.stopSending();
    await waitUntil(() => this.ids.every((_, index) => !this.ready[index] || this.ackedSeq[index]! >= this.nextSeq[index]! - 1), DRAIN_MS);
    let unacked = 0;
    for (let index = 0; index < this.ids.length; index++) if (this.ready[index]) unacked += this.nextSeq[index]! - 1 - this.ackedSeq[index]!;
    run.count('unacked after drain', unacked);
    this.run = undefined;
    return run.finish();
  }

  /** Window mode: sends until this driver has `window` frames unacknowledged, in one write. */
  private topUp(index: number): void {
    const socket = this.sockets[index];
    if (!socket || !this.ready[index] || this.window === 0) return;
    const missing = this.window - (this.nextSeq[index]! - 1 - this.ackedSeq[index]!);
    if (missing <= 0) return;
    socket.cork();
    for (let i = 0; i < missing; i++) this.sendFrame(index);
    socket.uncork();
  }

  private sendFrame(index: number): void {
    const run = this.run!;
    const seq = this.nextSeq[index]!;
    this.nextSeq[index] = seq + 1;
    this.lat[index] = this.lat[index]! + (this.rng.next() - 0.5) * STEP_DEG;
    this.lng[index] = this.lng[index]! + (this.rng.next() - 0.5) * STEP_DEG;
    const now = performance.now();
    this.sentAt[index * RING + (seq % RING)] = now;
    const payload = msgpackCodec.encode({ t: 'loc', seq, lat: this.lat[index]!, lng: this.lng[index]!, ts: Date.now() }) as Uint8Array;
    this.sockets[index]!.sendFrame(encodeClientFrame(payload, true));
    if (run.wasMeasured(now)) run.sent += 1;
  }

  private handle(index: number, message: ServerMessage): void {
    const run = this.run;
    if (message.t === 'ack') {
      const now = performance.now();
      const from = this.ackedSeq[index]! + 1;
      const through = Math.min(message.seq, this.nextSeq[index]! - 1);
      for (let seq = from; seq <= through; seq++) {
        const sentAt = this.sentAt[index * RING + (seq % RING)]!;
        if (run?.wasMeasured(sentAt)) {
          run.completed += 1;
          run.latency.record(now - sentAt);
        }
      }
      if (through >= from) this.ackedSeq[index] = through;
      if (this.window > 0) this.topUp(index);
    } else if (message.t === 'error') {
      run?.error(message.code);
    }
  }
}
