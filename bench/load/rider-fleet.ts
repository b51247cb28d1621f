import type { NearbyResultMessage, ServerMessage } from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import { compareRanked } from '../../src/protocol/ranking.ts';
import { RiderSession } from '../../clients/core/rider-session.ts';
import { createRng } from '../../src/domain/random.ts';
import type { HubAddress, LoadTask, QueryShape, TaskResult, TokenSpec } from './load-protocol.ts';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { closeSockets, openRiderSockets } from './fleet-sockets.ts';
import { msgpackFrame } from './msgpack-frame.ts';
import { runOpenLoop } from './open-loop.ts';
import { TaskRun, sleep, type ProgressSink } from './task-run.ts';
import type { WireSocket } from '../../clients/core/wire-socket.ts';

const DRAIN_MS = 3000;
const TICK_MS = 2;
/** Query positions prepared ahead and reused round-robin: encoding is not what we measure. */
const PREPARED_QUERIES = 4096;

type QueryRate = Extract<LoadTask, { kind: 'query-rate' }>;
type QueryPaced = Extract<LoadTask, { kind: 'query-paced' }>;

interface Rider {
  socket: WireSocket;
  /** The protocol core: request ids and the queries waiting for answers. */
  session: RiderSession<undefined>;
  /** performance.now() of the latest send, for pacing. */
  lastSentAt: number;
}

/**
 * This worker's riders: one raw WebSocket each, msgpack `nearby` queries,
 * latency from send to the matching `nearby.result`, and a check that every
 * answer is ranked nearest first.
 */
export class RiderFleet {
  private riders: Rider[] = [];
  private run: TaskRun | undefined;
  /** Paced mode: riders whose answer came back, oldest first, waiting for their next turn. */
  private waiting: Rider[] = [];
  private minGapMs = 0;
  private pacing = false;
  private maxInFlight = 0;
  private inFlight = 0;
  private prepared: Array<{ lat: number; lng: number }> = [];
  private shape: QueryShape | undefined;
  private cursor = 0;

  async connect(hub: HubAddress, count: number, token: TokenSpec | undefined, progress: ProgressSink): Promise<TaskResult> {
    const run = new TaskRun(0, progress);
    this.riders = await openRiderSockets({
      hub,
      count,
      token,
      idPrefix: 'bench-rider',
      run,
      timeOpens: true,
      currentRun: () => this.run,
      create: (socket): Rider => ({ socket, session: new RiderSession<undefined>(), lastSentAt: 0 }),
      onMessage: (rider, payload) => this.handle(rider, decodeServerMessage(payload)),
    });
    run.completed = this.riders.length;
    run.sent = count;
    run.count('connected', this.riders.length);
    return run.finish();
  }

  async disconnect(): Promise<void> {
    const riders = this.riders;
    this.riders = [];
    await closeSockets(riders);
  }

  async queryRate(task: QueryRate, progress: ProgressSink): Promise<TaskResult> {
    const run = this.begin(task.warmupMs, task.shape, task.seed, progress);
    await runOpenLoop(run, { perSecond: task.perSecond, durationMs: task.durationMs, tickMs: TICK_MS }, (index) => {
      const rider = this.riders[index % this.riders.length];
      if (rider?.socket.isOpen) this.sendQuery(rider);
      else run.error('rider not connected');
    });
    return this.end(run);
  }

  async queryPaced(task: QueryPaced, progress: ProgressSink): Promise<TaskResult> {
    const run = this.begin(task.warmupMs, task.shape, task.seed, progress);
    this.minGapMs = 1000 / task.perSocketHz;
    this.maxInFlight = task.inFlight;
    this.inFlight = 0;
    this.pacing = true;
    // Spread the first queries over one gap so the sockets do not march in step.
    this.waiting = [...this.riders];
    this.riders.forEach((rider, index) => {
      rider.lastSentAt = performance.now() - this.minGapMs + (index / this.riders.length) * this.minGapMs;
    });
    const timer = setInterval(() => this.releaseWaiting(), TICK_MS);
    await sleep(task.durationMs);
    this.pacing = false;
    clearInterval(timer);
    this.waiting = [];
    return this.end(run);
  }

  /** Sends for waiting riders whose gap has passed, oldest first, while fewer than `maxInFlight` queries are out. */
  private releaseWaiting(): void {
    const now = performance.now();
    let released = 0;
    while (released < this.waiting.length && this.inFlight < this.maxInFlight) {
      const rider = this.waiting[released]!;
      if (rider.lastSentAt + this.minGapMs > now) break;
      released += 1;
      if (!rider.socket.isOpen) continue;
      this.inFlight += 1;
      this.sendQuery(rider);
    }
    if (released > 0) this.waiting.splice(0, released);
  }

  private begin(warmupMs: number, shape: QueryShape, seed: number, progress: ProgressSink): TaskRun {
    const rng = createRng(seed);
    this.shape = shape;
    this.prepared = Array.from({ length: PREPARED_QUERIES }, () => randomPointInDisc(rng, { lat: shape.centerLat, lng: shape.centerLng }, shape.spreadKm));
    for (const rider of this.riders) rider.session.lost();
    this.run = new TaskRun(warmupMs, progress);
    // Reported even when none: an answer with no driver is a finding (a stale fleet), and 0 says it was checked.
    this.run.count('empty answers', 0);
    return this.run;
  }

  private async end(run: TaskRun): Promise<TaskResult> {
    const outstanding = () => this.riders.reduce((sum, rider) => sum + rider.session.outstanding, 0);
    run.count('unanswered after drain', await run.stopAndDrain(outstanding, DRAIN_MS));
    for (const rider of this.riders) rider.session.lost();
    this.run = undefined;
    return run.finish();
  }

  private sendQuery(rider: Rider): void {
    const shape = this.shape!;
    const point = this.prepared[this.cursor++ % this.prepared.length]!;
    const id = rider.session.newId();
    const frame = msgpackFrame({ t: 'nearby', id, lat: point.lat, lng: point.lng, radiusKm: shape.radiusKm, limit: shape.limit });
    const now = performance.now();
    rider.session.track(id, undefined, now);
    rider.lastSentAt = now;
    rider.socket.sendFrame(frame);
    if (this.run?.wasMeasured(now)) this.run.sent += 1;
  }

  private handle(rider: Rider, message: ServerMessage): void {
    const run = this.run;
    if (message.t !== 'nearby.result' && message.t !== 'error') return;
    const query = rider.session.answer(message);
    if (!query) {
      run?.error('unmatched reply');
      return;
    }
    if (run?.wasMeasured(query.sentAt)) {
      if (message.t === 'error') {
        run.error(message.code);
      } else {
        run.completed += 1;
        run.latency.record(performance.now() - query.sentAt);
        this.check(run, message);
      }
    }
    if (this.pacing && rider.session.outstanding === 0) {
      this.inFlight -= 1;
      this.waiting.push(rider);
      this.releaseWaiting();
    }
  }

  /** Counts sources and empty answers, and holds every answer to the protocol's ranking order. */
  private check(run: TaskRun, answer: NearbyResultMessage): void {
    run.count(`source ${answer.source}`);
    run.count('drivers returned', answer.drivers.length);
    if (answer.drivers.length === 0) run.count('empty answers');
    for (let i = 1; i < answer.drivers.length; i++) {
      if (compareRanked(answer.drivers[i - 1]!, answer.drivers[i]!) > 0) {
        run.error('unranked answer');
        return;
      }
    }
  }
}
