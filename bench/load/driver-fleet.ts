import { DriverSession } from '../../clients/core/driver-session.ts';
import { WireSocket } from '../../clients/core/wire-socket.ts';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { createRng, deriveSeed, type Rng } from '../../src/domain/random.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import { closeSockets } from './fleet-sockets.ts';
import type { HubAddress, LoadTask, TaskResult, TokenSpec } from './load-protocol.ts';
import { msgpackFrame } from './msgpack-frame.ts';
import { runOpenLoop } from './open-loop.ts';
import { TaskRun, sleep, type ProgressSink } from './task-run.ts';
import { tokenQuery } from './tokens.ts';

/** Frames kept unacknowledged per driver: more than this is a stall. */
const RING = 64;
/** How long a task waits after its last send for the acks of frames still in flight. */
const DRAIN_MS = 3000;
const TICK_MS = 5;
/** About 5 m per frame: drivers move, so the index really is rewritten. */
const STEP_DEG = 5e-5;

type StreamRate = Extract<LoadTask, { kind: 'stream-rate' }>;
type StreamWindow = Extract<LoadTask, { kind: 'stream-window' }>;

interface Driver {
  id: number;
  socket: WireSocket;
  /** The protocol core: seq numbering from the hello, frames kept until acked, send times. */
  session: DriverSession<Buffer>;
  /** Writes one wire frame; made once per driver so sending allocates no closure. */
  send: (frame: Buffer) => boolean;
  lat: number;
  lng: number;
}

/**
 * This worker's share of the driver fleet: one raw WebSocket per driver,
 * msgpack `loc` frames, and a DriverSession per driver, so each ack yields
 * the latency of every frame it covers.
 */
export class DriverFleet {
  private drivers: Array<Driver | undefined> = [];
  private run: TaskRun | undefined;
  /** Window mode: how many frames each driver keeps unacknowledged. */
  private window = 0;
  private rng: Rng = createRng(1);
  private acceptOffers = false;
  private offersAccepted = 0;
  private ridesCompleted = 0;
  /** Shared by every driver's session: counts into the task that is running. */
  private readonly events = {
    acked: (_seq: number, sentAt: number | undefined, now: number) => {
      const run = this.run;
      if (sentAt !== undefined && run?.wasMeasured(sentAt)) {
        run.completed += 1;
        run.latency.record(now - sentAt);
      }
    },
    sent: (_seq: number, _resend: boolean, now: number) => {
      if (this.run?.wasMeasured(now)) this.run.sent += 1;
    },
  };

  async connect(
    hub: HubAddress,
    firstId: number,
    count: number,
    concurrency: number,
    token: TokenSpec | undefined,
    progress: ProgressSink,
  ): Promise<TaskResult> {
    const run = new TaskRun(0, progress);
    this.drivers = new Array<Driver | undefined>(count).fill(undefined);
    this.rng = createRng(deriveSeed('bench-drivers', firstId));
    let next = 0;
    let settled = 0;
    await new Promise<void>((resolve) => {
      const openOne = async (): Promise<void> => {
        const index = next++;
        if (index >= count) return;
        const id = firstId + index;
        const started = performance.now();
        const query = await tokenQuery(token, { role: 'driver', driverId: id });
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
        const session = new DriverSession<Buffer>({ capacity: RING, maxInFlight: Infinity, events: this.events });
        const socket = new WireSocket(hub.host, hub.port, `/ws/driver?id=${id}&encoding=msgpack${query}`, {
          onOpen: () => undefined,
          onMessage: (payload, binary) => {
            const message = decodeServerMessage(binary ? payload : payload.toString('utf8'));
            if (message.t === 'hello') {
              session.hello(message.lastSeq);
              settle(true);
            } else {
              this.handle(this.drivers[index]!, message);
            }
          },
          onClose: (reason) => {
            session.closed();
            if (!counted) settle(false, reason.slice(0, 80));
            else if (this.run) this.run.error('socket closed');
          },
        });
        this.drivers[index] = { id, socket, session, send: (frame) => (socket.sendFrame(frame), true), lat: 0, lng: 0 };
      };
      if (count === 0) resolve();
      for (let i = 0; i < Math.min(concurrency, count); i++) void openOne();
    });
    run.count('connected', run.completed);
    return run.finish();
  }

  async disconnect(): Promise<void> {
    const drivers = this.drivers;
    this.drivers = [];
    await closeSockets(drivers);
  }

  async streamRate(task: StreamRate, progress: ProgressSink): Promise<TaskResult> {
    const run = this.begin(task.warmupMs, task.center, progress);
    const count = this.drivers.length;
    await runOpenLoop(run, { perSecond: count * task.perDriverHz, durationMs: task.durationMs, tickMs: TICK_MS }, (index) => {
      const driver = this.drivers[index % count];
      if (!driver?.session.isReady) {
        run.error('driver not connected');
        return;
      }
      if (driver.session.size >= RING - 1) {
        run.error('stalled: too many unacked frames');
        return;
      }
      this.sendFrame(driver);
    });
    return this.end(run);
  }

  async streamWindow(task: StreamWindow, progress: ProgressSink): Promise<TaskResult> {
    if (task.window > RING - 1) throw new RangeError(`window must be below ${RING}`);
    const run = this.begin(task.warmupMs, task.center, progress);
    this.window = task.window;
    for (const driver of this.drivers) if (driver) this.topUp(driver);
    await sleep(task.durationMs);
    this.window = 0;
    return this.end(run);
  }

  private begin(warmupMs: number, center: { lat: number; lng: number; spreadKm: number }, progress: ProgressSink): TaskRun {
    for (const driver of this.drivers) {
      if (!driver) continue;
      const point = randomPointInDisc(this.rng, center, center.spreadKm);
      driver.lat = point.lat;
      driver.lng = point.lng;
    }
    this.run = new TaskRun(warmupMs, progress);
    return this.run;
  }

  private async end(run: TaskRun): Promise<TaskResult> {
    const unacked = () => this.drivers.reduce((sum, driver) => sum + (driver?.session.isReady ? driver.session.size : 0), 0);
    run.count('unacked after drain', await run.stopAndDrain(unacked, DRAIN_MS));
    this.run = undefined;
    return run.finish();
  }

  /** Window mode: sends until this driver has `window` frames unacknowledged, in one write. */
  private topUp(driver: Driver): void {
    if (!driver.session.isReady || this.window === 0) return;
    const missing = this.window - driver.session.size;
    if (missing <= 0) return;
    driver.socket.cork();
    for (let i = 0; i < missing; i++) this.sendFrame(driver);
    driver.socket.uncork();
  }

  private sendFrame(driver: Driver): void {
    driver.lat += (this.rng.next() - 0.5) * STEP_DEG;
    driver.lng += (this.rng.next() - 0.5) * STEP_DEG;
    const { lat, lng } = driver;
    driver.session.push((seq) => msgpackFrame({ t: 'loc', seq, lat, lng, ts: Date.now() }));
    driver.session.flush(driver.send, performance.now());
  }

  /** Takes every offered ride (`answer-offers`); returns what was taken since the last call. */
  answerOffers(accept: boolean): TaskResult {
    const run = new TaskRun(0, () => undefined);
    run.count('offers accepted', this.offersAccepted);
    run.count('rides completed', this.ridesCompleted);
    this.offersAccepted = 0;
    this.ridesCompleted = 0;
    this.acceptOffers = accept;
    return run.finish();
  }

  private handle(driver: Driver, message: ServerMessage): void {
    if (message.t === 'ack') {
      driver.session.ack(message.seq, performance.now());
      if (this.window > 0) this.topUp(driver);
    } else if (message.t === 'error') {
      this.run?.error(message.code);
    } else if (this.acceptOffers && message.t === 'offer') {
      this.offersAccepted += 1;
      driver.socket.sendFrame(msgpackFrame({ t: 'offer.accept', rideId: message.rideId }));
    } else if (this.acceptOffers && message.t === 'ride.assigned' && 'rider' in message) {
      // The whole ride at once: the hub applies a socket's ride messages in order, and the driver is free again.
      const { rideId } = message;
      driver.socket.cork();
      for (const t of ['ride.arrived', 'ride.started', 'ride.completed'] as const) driver.socket.sendFrame(msgpackFrame({ t, rideId }));
      driver.socket.uncork();
      this.ridesCompleted += 1;
    }
  }
}
