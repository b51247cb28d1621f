import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offsetKm } from '../src/domain/geo.ts';
import { startTestHub, type TestHub } from './support/hub.ts';
import { placeDrivers, TestRider, type TestDriver } from './support/ride-parties.ts';

/**
 * Double assignment under real concurrency, checked in PostgreSQL: many
 * drivers accepting one ride at once, and a storm of requests against a few
 * drivers that accept everything.
 */

const PICKUP = { lat: 40.7484, lng: -73.9857 };

/** Points spread in a disc of `radiusKm` around `center`, deterministic. */
function around(center: { lat: number; lng: number }, count: number, radiusKm: number) {
  return Array.from({ length: count }, (_, i) => {
    const angle = i * 2.399963; // golden angle: an even spread without randomness
    const distance = radiusKm * Math.sqrt((i + 0.5) / count);
    return offsetKm(center, distance * Math.cos(angle), distance * Math.sin(angle));
  });
}

describe('50 drivers accept the same ride at once', () => {
  let testHub: TestHub;
  let drivers: TestDriver[];

  beforeAll(async () => {
    testHub = await startTestHub('ride-race', { DISPATCH_WAVE_SIZE: '50', PG_DISPATCH_POOL_SIZE: '10' });
    drivers = await placeDrivers(testHub, around(PICKUP, 50, 2));
  });
  afterAll(async () => {
    for (const driver of drivers) driver.close();
    await testHub.close();
  });

  it('assigns exactly one, and tells each of the other 49 once that the ride is taken', async () => {
    const rider = await TestRider.connect(testHub, 'race-rider');
    const rideId = await rider.request(PICKUP);
    await Promise.all(drivers.map((driver) => driver.waitFor('offer', rideId)));
    // Every accept leaves before any answer can come back.
    for (const driver of drivers) driver.send({ t: 'offer.accept', rideId });

    const assigned = await rider.waitFor('ride.assigned', rideId);
    const winnerId = 'driver' in assigned ? assigned.driver.id : undefined;
    const winner = drivers.find((driver) => driver.id === winnerId)!;
    await winner.waitFor('ride.assigned', rideId);
    const losers = drivers.filter((driver) => driver !== winner);
    await Promise.all(losers.map((driver) => driver.waitFor('offer.cancelled', rideId)));

    const cancelled = losers.flatMap((driver) => driver.client.received.filter((entry) => entry.message.t === 'offer.cancelled'));
    expect(cancelled).toHaveLength(49);
    expect(cancelled.every((entry) => entry.message.t === 'offer.cancelled' && entry.message.reason === 'taken')).toBe(true);
    expect(losers.every((driver) => driver.count('ride.assigned') === 0)).toBe(true);
    expect(winner.count('offer.cancelled')).toBe(0);
    expect(rider.count('ride.assigned')).toBe(1);

    const ride = await testHub.db.query('SELECT status, driver_id FROM rides WHERE id = $1', [rideId]);
    expect(ride.rows).toEqual([{ status: 'assigned', driver_id: winner.id }]);
    const busy = await testHub.db.query(`SELECT id FROM drivers WHERE status = 'busy'`);
    expect(busy.rows).toEqual([{ id: winner.id }]);
    // Every loser accepted, so each offer ends recorded as `lost` once its accept was written.
    const answers = async () =>
      (await testHub.db.query(`SELECT answer, count(*)::int AS n FROM offers WHERE ride_id = $1 GROUP BY answer ORDER BY answer`, [rideId])).rows;
    await expect.poll(answers).toEqual([
      { answer: 'accepted', n: 1 },
      { answer: 'lost', n: 49 },
    ]);
    // And a loser's late accept was never answered a second time.
    expect(losers.every((driver) => driver.count('offer.cancelled') === 1)).toBe(true);
    rider.close();
  });
});

describe('200 concurrent requests against 30 drivers that accept everything', () => {
  let testHub: TestHub;
  let drivers: TestDriver[];

  beforeAll(async () => {
    testHub = await startTestHub('ride-storm', { PG_DISPATCH_POOL_SIZE: '8' });
    drivers = await placeDrivers(testHub, around(PICKUP, 30, 2.5));
    // Each driver accepts every offer the moment it arrives.
    for (const driver of drivers) {
      driver.client.socket.on('message', () => {
        const last = driver.client.received.at(-1)?.message;
        if (last?.t === 'offer') driver.send({ t: 'offer.accept', rideId: last.rideId });
      });
    }
  });
  afterAll(async () => {
    for (const driver of drivers) driver.close();
    await testHub.close();
  });

  it('ends every request assigned or unmatched, never a driver in two open rides or a ride with two drivers', async () => {
    const riders = await Promise.all(Array.from({ length: 200 }, (_, i) => TestRider.connect(testHub, `storm-${i}`)));
    const pickups = around(PICKUP, 200, 2);
    // All requests leave at once.
    const rideIds = await Promise.all(riders.map((rider, i) => rider.request(pickups[i]!)));
    expect(new Set(rideIds).size).toBe(200);

    // Each rider hears the end of its request: exactly one of ride.assigned or ride.unmatched.
    const outcomes = await Promise.all(
      riders.map((rider, i) =>
        rider.client.waitFor((message) => (message.t === 'ride.assigned' || message.t === 'ride.unmatched') && message.rideId === rideIds[i], 45_000),
      ),
    );
    const assignedByRider = new Map<string, number>();
    outcomes.forEach((outcome, i) => {
      if (outcome.t === 'ride.assigned' && 'driver' in outcome) assignedByRider.set(rideIds[i]!, outcome.driver.id);
    });

    // Ordered by driver, so the assigned rides line up with the busy drivers below.
    const { rows } = await testHub.db.query<{ id: string; status: string; driver_id: number | null }>(
      'SELECT id, status, driver_id FROM rides ORDER BY driver_id',
    );
    expect(rows).toHaveLength(200);
    expect(rows.every((row) => row.status === 'assigned' || row.status === 'unmatched')).toBe(true);
    const assigned = rows.filter((row) => row.status === 'assigned');
    // No driver in two open rides; a ride has one driver column, so never two drivers.
    expect(new Set(assigned.map((row) => row.driver_id)).size).toBe(assigned.length);
    expect(assigned.length).toBeGreaterThan(0);
    expect(assigned.length).toBeLessThanOrEqual(30);
    // What the riders were told is what PostgreSQL holds.
    expect(new Map(assigned.map((row) => [row.id, row.driver_id]))).toEqual(assignedByRider);
    const busy = await testHub.db.query<{ id: number }>(`SELECT id FROM drivers WHERE status = 'busy' ORDER BY id`);
    expect(busy.rows.map((row) => row.id)).toEqual(assigned.map((row) => row.driver_id));
    // Exactly one accepted offer per assigned ride, and no offer left open.
    const accepted = await testHub.db.query<{ ride_id: string; n: number }>(
      `SELECT ride_id, count(*)::int AS n FROM offers WHERE answer = 'accepted' GROUP BY ride_id`,
    );
    expect(accepted.rows.every((row) => row.n === 1)).toBe(true);
    expect(accepted.rows.length).toBe(assigned.length);
    const open = await testHub.db.query<{ n: number }>('SELECT count(*)::int AS n FROM offers WHERE answer IS NULL');
    expect(open.rows[0]!.n).toBe(0);
    // Each driver was told of at most one assignment.
    expect(drivers.every((driver) => driver.count('ride.assigned') <= 1)).toBe(true);
    console.info(`storm: ${assigned.length} of 200 requests assigned, ${200 - assigned.length} unmatched, 30 drivers`);
    for (const rider of riders) rider.close();
  });
});
