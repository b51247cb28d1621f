// Drivers streaming locations: DRIVERS virtual drivers, each on its own
// socket sending RATE `loc` frames per second for DURATION, resending from the
// hub's lastSeq after a reconnect and after `overloaded`, and timing each frame
// from send to the ack that covers it. The drivers keep themselves fresh:
// they are online and streaming for the whole run.
//
// The run fails as "generator overloaded" (threshold generator_overloaded)
// when k6 sends fewer than 95% of the frames DRIVERS x RATE offers on time:
// its latencies would then be its own backlog. Use fewer drivers per k6
// process, or more k6 processes with FIRST_DRIVER_ID set apart.
//
//   k6 run -e HUB_URL=ws://localhost:8080 -e DRIVERS=500 -e RATE=1 -e DURATION=1m load-tests/driver-stream.js
//   With auth on, add -e AUTH_SECRET=<the hub's secret> (each connection signs its own token) or -e TOKEN=<jwt>.
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import ws from 'k6/ws';
import {
  ackLatency,
  backoffSeconds,
  config,
  createSchedule,
  createWalker,
  errorRate,
  framesAcked,
  framesSent,
  generatorThreshold,
  locFrame,
  parseMessage,
  sessionScenario,
  socketUrl,
  statusFrame,
} from './lib.js';

/** Matches the simulator's buffer: frames beyond it are dropped oldest first. */
const MAX_UNACKED = 300;
const END_DRAIN_MS = 1000;
/** Seeded drivers stand within about 15 km of the centre; keep the walkers inside that. */
const WALK_RADIUS_KM = 10;

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { drivers: sessionScenario(config.drivers, 'default') },
  thresholds: {
    ack_latency: ['p(50)<100', 'p(99)<500'],
    errors: ['rate<0.01'],
    generator_overloaded: [generatorThreshold],
  },
};

export default function () {
  driverSession(config.firstDriverId + exec.scenario.iterationInTest, Date.now() + config.durationMs);
}

/**
 * One driver until `endAt` (epoch ms), reconnecting with backoff whenever
 * the socket drops early.
 * @param {number} driverId
 * @param {number} endAt
 */
export function driverSession(driverId, endAt) {
  const intervalMs = 1000 / config.rate;
  const walker = createWalker(WALK_RADIUS_KM);
  /** Insertion order is seq order, so iteration runs oldest first. @type {Map<number, { frame: string, sentAt: number | undefined }>} */
  const unacked = new Map();
  /** Unknown until the first hello: numbering has to continue above the hub's lastSeq. */
  let nextSeq = 0;
  let attempt = 0;
  // Spread the fleet's frames across the interval instead of sending in lockstep.
  sleep((Math.random() * intervalMs) / 1000);

  while (Date.now() < endAt) {
    const response = ws.connect(socketUrl('driver', { id: driverId }, String(driverId)), null, (socket) => {
      let ready = false;
      let heldUntil = 0;
      /** The offered rate of this connection, from its first hello. @type {ReturnType<typeof createSchedule> | undefined} */
      let schedule;
      /** Past endAt: no new frames, waiting for the last acks. */
      let ending = false;
      let closed = false;

      const flush = () => {
        if (!ready || Date.now() < heldUntil) return;
        for (const entry of unacked.values()) {
          if (entry.sentAt !== undefined) continue;
          socket.send(entry.frame);
          entry.sentAt = Date.now();
          framesSent.add(1);
        }
      };

      const signOff = () => {
        if (closed) return;
        closed = true;
        if (ready) socket.send(JSON.stringify(statusFrame('offline')));
        socket.close();
      };

      socket.on('message', (text) => {
        const message = parseMessage(text);
        if (!message) {
          errorRate.add(true, { code: 'bad_reply' });
          return;
        }
        if (message.t === 'hello') {
          ready = true;
          attempt = 0;
          if (!schedule) schedule = createSchedule(intervalMs);
          nextSeq = Math.max(nextSeq, message.lastSeq + 1);
          for (const [seq, entry] of unacked) {
            if (seq <= message.lastSeq) unacked.delete(seq);
            else entry.sentAt = undefined;
          }
          socket.send(JSON.stringify(statusFrame('online')));
          flush();
        } else if (message.t === 'ack') {
          const now = Date.now();
          for (const [seq, entry] of unacked) {
            if (seq > message.seq) break;
            if (entry.sentAt !== undefined) ackLatency.add(now - entry.sentAt);
            unacked.delete(seq);
            framesAcked.add(1);
            errorRate.add(false);
          }
          if (ending && unacked.size === 0) signOff();
        } else if (message.t === 'error') {
          errorRate.add(true, { code: message.code });
          if (message.code === 'overloaded' || message.code === 'rate_limited') {
            // Which frame was refused is not said: resend everything unacked once the hub has had its pause.
            const waitMs = (message.retryAfterMs ?? 1000) * (1 + Math.random() / 2);
            heldUntil = Date.now() + waitMs;
            for (const entry of unacked.values()) entry.sentAt = undefined;
            socket.setTimeout(flush, waitMs);
          }
        } else {
          errorRate.add(true, { code: 'unexpected_reply' });
        }
      });

      socket.setInterval(() => {
        if (nextSeq === 0 || ending) return;
        schedule?.sent();
        const seq = nextSeq++;
        unacked.set(seq, { frame: JSON.stringify(locFrame(seq, walker.step(intervalMs / 1000))), sentAt: undefined });
        if (unacked.size > MAX_UNACKED) {
          unacked.delete(/** @type {number} */ (unacked.keys().next().value));
          errorRate.add(true, { code: 'dropped' });
        }
        flush();
      }, intervalMs);

      // At the end, stop producing and give in-flight frames a moment to be acked,
      // so the last batch is neither missing from ack_latency nor counted as lost.
      socket.setTimeout(
        () => {
          ending = true;
          if (unacked.size === 0) signOff();
          socket.setTimeout(signOff, END_DRAIN_MS);
        },
        Math.max(0, endAt - Date.now()),
      );

      socket.on('error', (error) => errorRate.add(true, { code: 'socket', error: error.error() }));
      socket.on('close', () => {
        // Whatever was in flight is settled by the next hello's lastSeq.
        for (const entry of unacked.values()) entry.sentAt = undefined;
      });
    });

    const upgraded = check(response, { 'driver socket upgraded (101)': (r) => r !== null && r.status === 101 });
    if (!upgraded) errorRate.add(true, { code: 'connect' });
    if (Date.now() < endAt) sleep(Math.min(backoffSeconds(attempt++), Math.max(0, endAt - Date.now()) / 1000));
  }
}
