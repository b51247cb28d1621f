import { SubscriptionSession } from '../../clients/core/subscription-session.ts';
import type { WireSocket } from '../../clients/core/wire-socket.ts';
import { randomPointInDisc } from '../../src/domain/geo.ts';
import { createRng } from '../../src/domain/random.ts';
import type { NearbyUpdateMessage } from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import { compareRanked } from '../../src/protocol/ranking.ts';
import { closeSockets, openRiderSockets } from './fleet-sockets.ts';
import type { LoadTask, TaskResult } from './load-protocol.ts';
import { msgpackFrame } from './msgpack-frame.ts';
import { sleep, TaskRun, waitUntil, type ProgressSink } from './task-run.ts';

type ConnectSubscribers = Extract<LoadTask, { kind: 'connect-subscribers' }>;
type WatchUpdates = Extract<LoadTask, { kind: 'watch-updates' }>;

/** How long every subscription has to get its first list before the connect task gives up on the rest. */
const FIRST_ANSWER_TIMEOUT_MS = 30_000;

interface Subscriber {
  socket: WireSocket;
  /** The clients' subscription core: ids, messages, routing. The context is when the subscribe was sent. */
  session: SubscriptionSession<{ sentAt: number; answered: boolean }>;
}

/**
 * This worker's live nearby riders: raw WebSockets, each holding a few
 * `subscribe`s at random points (msgpack). The connect task times the first
 * answer of each; the watch task counts the updates the hub pushes and
 * records each one's own `ms` (the hub's delay from the change to the send),
 * and holds every list to the ranking order.
 */
export class SubscriberFleet {
  private subscribers: Subscriber[] = [];
  private run: TaskRun | undefined;
  private firstAnswers = 0;

  async connect(task: ConnectSubscribers, progress: ProgressSink): Promise<TaskResult> {
    const run = new TaskRun(0, progress);
    this.run = run;
    this.firstAnswers = 0;
    const rng = createRng(task.seed);
    const { shape } = task;
    this.subscribers = await openRiderSockets({
      hub: task.hub,
      count: task.sockets,
      token: task.token,
      idPrefix: 'bench-subscriber',
      run,
      timeOpens: false,
      currentRun: () => this.run,
      create: (socket): Subscriber => ({ socket, session: new SubscriptionSession() }),
      onMessage: (subscriber, payload) => this.handle(subscriber, payload),
    });
    for (const subscriber of this.subscribers) {
      subscriber.socket.cork();
      for (let i = 0; i < task.perSocket; i++) {
        const at = randomPointInDisc(rng, { lat: shape.centerLat, lng: shape.centerLng }, shape.spreadKm);
        const { message } = subscriber.session.add(
          { lat: at.lat, lng: at.lng, radiusKm: shape.radiusKm, limit: shape.limit },
          { sentAt: performance.now(), answered: false },
        );
        subscriber.socket.sendFrame(msgpackFrame(message));
        run.sent += 1;
      }
      subscriber.socket.uncork();
    }
    await waitUntil(() => this.firstAnswers >= run.sent, FIRST_ANSWER_TIMEOUT_MS);
    run.completed = this.firstAnswers;
    run.count('sockets', this.subscribers.length);
    this.run = undefined;
    return run.finish();
  }

  /** Counts what the hub pushes for `durationMs`; nothing is sent. */
  async watch(task: WatchUpdates, progress: ProgressSink): Promise<TaskResult> {
    const run = new TaskRun(task.warmupMs, progress);
    this.run = run;
    await sleep(task.durationMs);
    run.stopSending();
    this.run = undefined;
    return run.finish();
  }

  async disconnect(): Promise<void> {
    const subscribers = this.subscribers;
    this.subscribers = [];
    await closeSockets(subscribers);
  }

  private handle(subscriber: Subscriber, payload: Buffer): void {
    const event = subscriber.session.route(decodeServerMessage(new Uint8Array(payload)));
    const run = this.run;
    if (!event) return;
    if (event.kind === 'error') {
      run?.error(event.error.code);
      return;
    }
    const state = event.watch.context;
    if (!state.answered) {
      // The first list answers the subscribe: the connect task times it.
      state.answered = true;
      this.firstAnswers += 1;
      run?.latency.record(performance.now() - state.sentAt);
      return;
    }
    if (!run?.measuring) return;
    run.completed += 1;
    run.latency.record(event.update.ms);
    this.check(run, event.update);
  }

  private check(run: TaskRun, update: NearbyUpdateMessage): void {
    run.count(`source ${update.source}`);
    run.count('drivers listed', update.drivers.length);
    for (let i = 1; i < update.drivers.length; i++) {
      if (compareRanked(update.drivers[i - 1]!, update.drivers[i]!) > 0) {
        run.error('unranked list');
        return;
      }
    }
  }
}
