// Riders asking for nearby drivers: RIDERS virtual riders, each sending RATE
// `nearby` queries per second for DURATION from random points around Times
// Square, timing every answer and checking it is ranked by distanceKm, ties
// to the higher rating.
//
//   k6 run -e HUB_URL=ws://localhost:8080 -e RIDERS=50 -e RATE=2 -e DURATION=1m load-tests/rider-nearby.js
//   With auth on, add -e AUTH_SECRET=<the hub's secret> (each connection signs its own token) or -e TOKEN=<jwt>.
import { check, sleep } from 'k6';
import ws from 'k6/ws';
import {
  backoffSeconds,
  config,
  countRankingViolations,
  errorRate,
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

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: { riders: sessionScenario(config.riders, 'default') },
  thresholds: {
    nearby_latency: ['p(50)<50', 'p(99)<250'],
    errors: ['rate<0.01'],
    ranking_violations: ['count==0'],
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

      socket.on('open', () => {
        attempt = 0;
      });

      socket.setInterval(() => {
        const now = Date.now();
        for (const [id, { sentAt }] of pending) {
          if (now - sentAt < QUERY_TIMEOUT_MS) continue;
          pending.delete(id);
          errorRate.add(true, { code: 'timeout' });
        }
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
