import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatSummary } from '../clients/sim/format.ts';
import { runSimulation, type Simulation } from '../clients/sim/simulation.ts';
import { seedFleet } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';

/**
 * A second client for the same driver takes it over (4001). The client taken
 * over must not reconnect and take it back: `npm run simulate` beside
 * `npm start`'s built-in fleet would otherwise have both evict each other
 * for ever, and every dot on the map jump between two places.
 */

let testHub: TestHub;
const running: Simulation[] = [];

beforeAll(async () => {
  testHub = await startTestHub('sim-takeover');
});
afterAll(async () => {
  await Promise.all(running.map((simulation) => simulation.stop()));
  await testHub.close();
});

function simulate(firstDriverId: number, seed: string): Simulation {
  const simulation = runSimulation({ hubUrl: testHub.wsUrl(''), drivers: 3, firstDriverId, intervalMs: 200, offline: null, drainMs: 0, seed });
  running.push(simulation);
  return simulation;
}

it('the simulator taken over stops its drivers, and the one that took over keeps streaming', async () => {
  const ids = await seedFleet(testHub, 3);
  const first = simulate(ids[0]!, 'first');
  await expect.poll(() => first.stats.counters.connectedDrivers, { timeout: 20_000 }).toBe(3);

  const second = simulate(ids[0]!, 'second');
  await expect.poll(() => first.stats.counters.driversReplaced, { timeout: 20_000 }).toBe(3);
  await expect.poll(() => second.stats.counters.connectedDrivers, { timeout: 20_000 }).toBe(3);
  // Seconds of streaming: the first's reconnects would come within its 0.5 s backoff.
  const ackedBefore = second.stats.counters.framesAcked;
  await expect.poll(() => second.stats.counters.framesAcked, { timeout: 20_000 }).toBeGreaterThan(ackedBefore + 30);
  expect(second.stats.counters.disconnects).toBe(0);
  expect(first.stats.counters.connectedDrivers).toBe(0);
  expect(first.stats.counters.reconnects).toBe(0);

  const summary = formatSummary(await first.stop());
  expect(summary).toContain('3 drivers taken over by another client (4001) stopped');
}, 60_000);
