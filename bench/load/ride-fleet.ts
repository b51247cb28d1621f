import type { WireSocket } from '../../clients/core/wire-socket.ts';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { createRng } from '../../src/domain/random.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import type { HubAddress, LoadTask, TaskResult, TokenSpec } from './load-protocol.ts';
import { msgpackFrame } from './msgpack-frame.ts';
import { closeSockets, openRiderSockets } from './fleet-sockets.ts';
import { runOpenLoop } from './open-loop.ts';
import { TaskRun, type ProgressSink } from './task-run.ts';

type RideRate = Extract<LoadTask, { kind: 'ride-rate' }>;

const TICK_MS = 2;
/** After the last request of a step: long enough for every request to end (assigned, or unmatched after its waves). */
const DRAIN_MS = 20_000;

interface RideRider {
  socket: WireSocket;
  /** A request of this rider is in flight or its ride is open: it asks for nothing else meanwhile. */
  busy: boolean;
  requestId: string;
  /** performance.now() of the request. */
  sentAt: number;
  requests: number;
}

/**
 * This worker's ride requesters: one raw WebSocket per rider, msgpack
 * `ride.request`s at a fixed rate, each from a rider with no open ride. The
 * drivers of the fleet take and finish every ride at once (`answer-offers`),
 * so a rider is free again as soon as its ride completes. Latency is from
 * the request to the rider's `ride.assigned`.
 */
export class RideFleet {
  private riders: RideRider[] = [];
  private run: TaskRun | undefined;
  private cursor = 0;

  async connect(hub: HubAddress, count: number, token: TokenSpec | undefined, progress: ProgressSink): Promise<TaskResult> {
    const run = new TaskRun(0, progress);
    this.riders = await openRiderSockets({
      hub,
      count,
      token,
      idPrefix: 'bench-ride',
      run,
      timeOpens: false,
      currentRun: () => this.run,
      create: (socket): RideRider => ({ socket, busy: false, requestId: '', sentAt: 0, requests: 0 }),
      onMessage: (rider, payload) => this.handle(rider, decodeServerMessage(payload)),
    });
    run.completed = this.riders.length;
    run.count('connected', this.riders.length);
    return run.finish();
  }

  async disconnect(): Promise<void> {
    const riders = this.riders;
    this.riders = [];
    await closeSockets(riders);
  }

  async rate(task: RideRate, progress: ProgressSink): Promise<TaskResult> {
    const run = new TaskRun(task.warmupMs, progress);
    this.run = run;
    const rng = createRng(task.seed);
    const center = { lat: task.shape.centerLat, lng: task.shape.centerLng };
    await runOpenLoop(run, { perSecond: task.perSecond, durationMs: task.durationMs, tickMs: TICK_MS }, () => {
      const rider = this.nextIdle();
      if (!rider) {
        run.error('no idle rider');
        return;
      }
      const pickup = randomPointInDisc(rng, center, task.shape.spreadKm);
      rider.requests += 1;
      rider.requestId = `r${rider.requests}`;
      rider.busy = true;
      rider.sentAt = performance.now();
      if (run.wasMeasured(rider.sentAt)) run.sent += 1;
      rider.socket.sendFrame(msgpackFrame({ t: 'ride.request', id: rider.requestId, pickup }));
    });
    const unresolved = await run.stopAndDrain(() => this.riders.filter((rider) => rider.busy).length, DRAIN_MS);
    if (unresolved > 0) run.count('unresolved after drain', unresolved);
    this.run = undefined;
    return run.finish();
  }

  private nextIdle(): RideRider | undefined {
    for (let scanned = 0; scanned < this.riders.length; scanned++) {
      const rider = this.riders[this.cursor]!;
      this.cursor = (this.cursor + 1) % this.riders.length;
      if (!rider.busy) return rider;
    }
    return undefined;
  }

  private handle(rider: RideRider, message: ServerMessage): void {
    const run = this.run;
    const measured = run?.wasMeasured(rider.sentAt) ?? false;
    switch (message.t) {
      case 'ride.assigned':
        if ('driver' in message && measured) {
          run!.completed += 1;
          run!.latency.record(performance.now() - rider.sentAt);
        }
        return;
      case 'ride.unmatched':
        if (measured) run!.count('unmatched');
        rider.busy = false;
        return;
      case 'ride.status':
        if (message.status === 'completed' || message.status === 'cancelled') {
          if (measured) run!.count(`rides ${message.status}`);
          rider.busy = false;
        }
        return;
      case 'error':
        run?.error(message.code);
        if (message.id === rider.requestId) rider.busy = false;
        return;
      default:
        return;
    }
  }
}
