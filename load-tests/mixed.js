// Drivers and riders together, the hub's real workload: DRIVERS drivers
// streaming RATE frames/s while RIDERS riders query RATE times/s, all for
// DURATION. Writes and reads contend for the same stores, which neither
// single-role test shows. The drivers keep the fleet fresh for the riders;
// DRIVERS should fill the area the riders ask about (the default 100 is thin:
// use 1,000 or more, or the empty-answer check may fail on sparse points).
// It fails as "generator overloaded" when k6 falls below 95% of the frames
// or queries it offers.
//
//   k6 run -e HUB_URL=ws://localhost:8080 -e DRIVERS=1000 -e RIDERS=50 -e DURATION=2m load-tests/mixed.js
//   With auth on, add -e AUTH_SECRET=<the hub's secret> (each connection signs its own token) or -e TOKEN=<jwt>.
import exec from 'k6/execution';
import { driverSession } from './driver-stream.js';
import { config, generatorThreshold, sessionScenario } from './lib.js';
import { riderSession } from './rider-nearby.js';

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    drivers: sessionScenario(config.drivers, 'drivers'),
    riders: sessionScenario(config.riders, 'riders'),
  },
  thresholds: {
    ack_latency: ['p(50)<100', 'p(99)<500'],
    nearby_latency: ['p(50)<50', 'p(99)<250'],
    errors: ['rate<0.01'],
    ranking_violations: ['count==0'],
    nearby_empty: ['rate<0.05'],
    generator_overloaded: [generatorThreshold],
  },
};

export function drivers() {
  driverSession(config.firstDriverId + exec.scenario.iterationInTest, Date.now() + config.durationMs);
}

export function riders() {
  riderSession(Date.now() + config.durationMs);
}
