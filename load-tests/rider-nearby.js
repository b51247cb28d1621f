// Riders asking for nearby drivers: RIDERS virtual riders, each sending RATE
// `nearby` queries per second for DURATION from random points around Times
// Square, timing every answer and checking it is ranked by distanceKm, ties
// to the higher rating, and that it holds drivers at all.
//
// The riders need a fleet that is streaming: a driver silent for the hub's
// STALE_AFTER_MS (30 s) leaves nearby answers, so a fleet that was only seeded
// gives empty answers half a minute later, and the run fails on nearby_empty.
// Keep one moving while this runs, e.g.
//   npm run simulate -- --drivers 10000 --url ws://localhost:8080
// or run mixed.js, whose drivers stream themselves.
// Like every script here it fails as "generator overloaded" when k6 sends
// fewer than 95% of the RIDERS x RATE queries it offers on time.
//
//   k6 run -e HUB_URL=ws://localhost:8080 -e RIDERS=50 -e RATE=2 -e DURATION=1m load-tests/rider-nearby.js
//   With auth on, add -e AUTH_SECRET=<the hub's secret> (each connection signs its own token) or -e TOKEN=<jwt>.
import { check, sleep } from 'k6';
import { Rate } from 'k6/metrics';
import ws from 'k6/ws';
import {
  backoffSeconds,
  config,
  countRankingViolations,
  createSchedule,
  errorRate,
  generatorThreshold,
  nearbyLatency,
  nearbyQuery,
  parseMessage,
  randomPosition,
  rankingViolations,
  sessionScenario,
  socketUrl,
} from './lib.js';

/** An answer later than this is counted as an error and forgotten. */
const QUERY_TIMEOUT_MS = 10000;
const QUERY_RADIUS_KM = 8;

/** One sample per answer: true when it held no driver (a stale or missing fleet, see above). */
export const nearbyEmpty = new Rate('nearby_empty');

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { riders: sessionScenario(config.riders, 'default') },
  thresholds: {
    nearby_latency: ['p(50)<50', 'p(99)<250'],
    errors: ['rate<0.01'],
    ranking_violations: ['count==0'],
    // A few random points may lie where no driver is; most answers empty means the fleet is not streaming.
    nearby_empty: ['rate<0.05'],
    generator_overloaded: [generatorThreshold],
  },
};

export default function () {
  riderSession(Date.now() + config.durationMs);
}

/**
 * One rider until `endAt` (epoch ms), reconnecting with backoff whenever the
 * socket drops early.
 * @param {number} endAt
 */
export function riderSession(endAt) {
  const intervalMs = 1000 / config.rate;
  let nextId = 1;
  let attempt = 0;
  sleep((Math.random() * intervalMs) / 1000);

  while (Date.now() < endAt) {
    const response = ws.connect(socketUrl('rider', {}, `k6-rider-${__VU}`), null, (socket) => {
      /** @type {Map<number | string, { query: import('./lib.js').NearbyQuery, sentAt: number }>} */
      const pending = new Map();

      /** The offered rate of this connection. @type {ReturnType<typeof createSchedule> | undefined} */
      let schedule;
      socket.on('open', () => {
        attempt = 0;
        schedule = createSchedule(intervalMs);
      });

      socket.setInterval(() => {
        const now = Date.now();
        for (const [id, { sentAt }] of pending) {
          if (now - sentAt < QUERY_TIMEOUT_MS) continue;
          pending.delete(id);
          errorRate.add(true, { code: 'timeout' });
        }
        schedule?.sent();
        const query = nearbyQuery(nextId++, randomPosition(QUERY_RADIUS_KM));
        pending.set(query.id, { query, sentAt: now });
        socket.send(JSON.stringify(query));
      }, intervalMs);

      socket.on('message', (text) => {
        const message = parseMessage(text);
        if (!message) {
          errorRate.add(true, { code: 'bad_reply' });
          return;
        }
        if (message.t === 'nearby.result') {
          const asked = typeof message.id === 'number' ? pending.get(message.id) : undefined;
          if (!asked) {
            errorRate.add(true, { code: 'unmatched_reply' });
            return;
          }
          pending.delete(asked.query.id);
          nearbyLatency.add(Date.now() - asked.sentAt);
          const violations = countRankingViolations(message.drivers, asked.query);
          rankingViolations.add(violations);
          errorRate.add(violations > 0);
          const found = check(message, { 'nearby answer has drivers (is the fleet streaming?)': (m) => m.drivers.length > 0 });
          nearbyEmpty.add(!found);
        } else if (message.t === 'error') {
          if (typeof message.id === 'number') pending.delete(message.id);
          errorRate.add(true, { code: message.code });
        } else {
          errorRate.add(true, { code: 'unexpected_reply' });
        }
      });

      socket.setTimeout(() => socket.close(), Math.max(0, endAt - Date.now()));
      socket.on('error', (error) => errorRate.add(true, { code: 'socket', error: error.error() }));
    });

    const upgraded = check(response, { 'rider socket upgraded (101)': (r) => r !== null && r.status === 101 });
    if (!upgraded) errorRate.add(true, { code: 'connect' });
    if (Date.now() < endAt) sleep(Math.min(backoffSeconds(attempt++), Math.max(0, endAt - Date.now()) / 1000));
  }
}
