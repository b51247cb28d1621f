import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MOVEMENT, Vehicle } from '../clients/sim/movement.ts';
import { runSimulation } from '../clients/sim/simulation.ts';
import { StreetGrid } from '../clients/sim/street-grid.ts';
import { createRng } from '../src/domain/random.ts';
import { startTestHub, type TestHub } from './support/hub.ts';

/** The simulator's drivers take rides: routed driving, and whole rides against a real hub. */

describe('a routed vehicle', () => {
  const grid = new StreetGrid();

  it('drives to the intersection nearest its target, parks there, and roams again when told', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rng = createRng(seed);
      const vehicle = new Vehicle(grid, rng);
      const target = grid.randomPosition(rng);
      const node = grid.nearestNode(target);
      vehicle.routeTo(target);
      let steps = 0;
      // The far corner of the grid is under 10 km of blocks away; at city speeds, with red lights, well within 2 simulated hours.
      while (!vehicle.atTarget && steps < 7200) {
        vehicle.step(1);
        steps += 1;
      }
      expect(vehicle.atTarget).toBe(true);
      const parked = vehicle.state();
      expect(parked.speedKmh).toBe(0);
      expect(parked.x).toBeCloseTo(node.i * grid.options.avenueSpacingM, 6);
      expect(parked.y).toBeCloseTo(node.j * grid.options.streetSpacingM, 6);
      vehicle.step(60);
      expect(vehicle.state()).toEqual(parked);
      vehicle.routeTo(null);
      vehicle.step(60);
      expect(vehicle.atTarget).toBe(false);
      expect(vehicle.state().x !== parked.x || vehicle.state().y !== parked.y).toBe(true);
    }
  });
});

describe('simulated rides against a hub', () => {
  let testHub: TestHub;

  beforeAll(async () => {
    testHub = await startTestHub('sim-rides');
  });
  afterAll(() => testHub.close());

  it('riders ask, drivers accept after a pause, drive to the pickup and the dropoff, and complete', async () => {
    // A small, fast city, so that a whole ride takes seconds rather than minutes.
    const grid = { halfWidthM: 600, halfHeightM: 400 };
    const fast = [3000, 3600] as const;
    const movement = { ...DEFAULT_MOVEMENT, avenueSpeedKmh: fast, streetSpeedKmh: fast, redLightProbability: 0, stopProbability: 0 };
    const ids = await testHub.hub.store.insertDrivers(
      Array.from({ length: 4 }, (_, i) => ({
        name: `Sim ${i}`,
        phone: `+1444${i}`,
        vehicleType: 'economy' as const,
        rating: 4.7,
        totalRides: 0,
        status: 'offline' as const,
        lat: 40.7589,
        lng: -73.9851,
      })),
    );
    const simulation = runSimulation({
      hubUrl: testHub.wsUrl(''),
      drivers: ids.length,
      firstDriverId: ids[0]!,
      riders: 2,
      riderQueriesPerS: 0.2,
      intervalMs: 200,
      seed: 'sim-rides',
      grid,
      movement,
      offline: null,
      rideEveryS: 0.5,
      driverRides: { acceptProbability: 1, answerDelayMs: [100, 300], boardingMs: [200, 400] },
      drainMs: 0,
    });
    try {
      await expect.poll(() => simulation.stats.counters.ridesCompleted, { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    } finally {
      await simulation.stop();
    }
    const { rows } = await testHub.db.query(
      `SELECT status, assigned_at IS NOT NULL AND arrived_at > assigned_at AND started_at > arrived_at AND completed_at > started_at AS in_order
       FROM rides WHERE status = 'completed'`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(2);
    expect(rows.every((row) => row.in_order)).toBe(true);
    const summary = simulation.stats.summary();
    expect(summary.rides.offers.accepted).toBeGreaterThanOrEqual(2);
    expect(summary.rides.assigned).toBeGreaterThanOrEqual(2);
    expect(summary.errors.unexpected_reply ?? 0).toBe(0);
    expect(summary.violationCount).toBe(0);
  });
});
