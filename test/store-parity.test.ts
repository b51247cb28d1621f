import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DriverStatus, VehicleType } from '../src/domain/driver.ts';
import { haversineKm, offsetKm } from '../src/domain/geo.ts';
import { createPgliteStore } from '../src/store/pglite.ts';
import type { LocationBatch, Store } from '../src/store/types.ts';
import { storeBackends, type StoreHarness } from './support/store-backends.ts';
import { anyNumber } from './support/matchers.ts';

/** Every committed migration, from drizzle-kit's journal. */
const MIGRATION_COUNT = (JSON.parse(readFileSync('drizzle/meta/_journal.json', 'utf8')) as { entries: unknown[] }).entries.length;

const backends = storeBackends();

const ORIGIN = { lat: 52.52, lng: 13.405 };
const northOf = (km: number) => offsetKm(ORIGIN, km, 0);
const eastOf = (km: number) => offsetKm(ORIGIN, 0, km);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Frame {
  id: number;
  seq: number;
  lat: number;
  lng: number;
  recordedAtMs?: number;
}

function batchOf(frames: Frame[], statuses: Array<[number, 'online' | 'offline']> = []): LocationBatch {
  const now = Date.now();
  return {
    driverIds: frames.map((f) => f.id),
    seqs: frames.map((f) => f.seq),
    lats: frames.map((f) => f.lat),
    lngs: frames.map((f) => f.lng),
    recordedAtMs: frames.map((f) => f.recordedAtMs ?? now),
    receivedAtMs: frames.map(() => now),
    statusDriverIds: statuses.map(([id]) => id),
    statuses: statuses.map(([, status]) => status),
  };
}

describe.each(backends)('$name store', (backend) => {
  let h: StoreHarness;

  beforeAll(async () => {
    h = await backend.open();
    await h.store.migrate();
  }, 60_000);

  afterAll(async () => {
    await h?.dispose();
  }, 60_000);

  beforeEach(async () => {
    await h.query('TRUNCATE drivers, driver_locations RESTART IDENTITY CASCADE');
  });

  interface Seed {
    name?: string;
    vehicleType?: VehicleType;
    rating?: number;
    status?: DriverStatus;
    lat?: number | null;
    lng?: number | null;
    lastSeenAgoMs?: number;
    lastSeq?: number;
  }

  async function addDriver(seed: Seed = {}): Promise<number> {
    const rows = await h.query(
      `INSERT INTO drivers (name, phone, vehicle_type, rating, status, lat, lng, last_seq, updated_at)
       VALUES ($1, '+4930000000', $2, $3, $4, $5, $6, $7, now() - make_interval(secs => $8::float8 / 1000))
       RETURNING id`,
      [
        seed.name ?? 'Driver',
        seed.vehicleType ?? 'economy',
        seed.rating ?? 4.8,
        seed.status ?? 'offline',
        seed.lat ?? null,
        seed.lng ?? null,
        seed.lastSeq ?? 0,
        seed.lastSeenAgoMs ?? 0,
      ],
    );
    return Number(rows[0]?.id);
  }

  async function history() {
    const rows = await h.query(
      `SELECT driver_id, seq::float8 AS seq, lat, lng,
              (extract(epoch FROM recorded_at) * 1000)::float8 AS recorded_ms,
              (extract(epoch FROM received_at) * 1000)::float8 AS received_ms
       FROM driver_locations ORDER BY driver_id, seq`,
    );
    return rows.map((row) => ({
      driverId: Number(row.driver_id),
      seq: Number(row.seq),
      lat: Number(row.lat),
      lng: Number(row.lng),
      recordedMs: Number(row.recorded_ms),
      receivedMs: Number(row.received_ms),
    }));
  }

  it('reports its kind and answers ping', async () => {
    expect(h.store.kind).toBe(backend.name);
    await h.store.ping();
  });

  it('migrates idempotently, keeping data', async () => {
    const id = await addDriver({ name: 'Kept' });
    await h.store.migrate();
    expect((await h.store.getDriver(id))?.name).toBe('Kept');
    const [applied] = await h.query('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations');
    expect(Number(applied?.n)).toBe(MIGRATION_COUNT);
  });

  describe('writeBatch', () => {
    // Where each driver was before the batch, read under its row lock: what the geo index moves a driver out of.
    const before = (at: { lat: number; lng: number }) => ({ previousLat: at.lat, previousLng: at.lng });
    const nowhereBefore = { previousLat: null, previousLng: null };
    it('applies the newest frame per driver, records history and status in one round trip', async () => {
      const a = await addDriver();
      const b = await addDriver();
      const untouched = await addDriver();
      const recordedAtMs = 1_795_000_000_123;
      const frames: Frame[] = [
        { id: a, seq: 2, ...northOf(2), recordedAtMs: recordedAtMs + 2 },
        { id: a, seq: 1, ...northOf(1), recordedAtMs: recordedAtMs + 1 },
        { id: a, seq: 3, ...northOf(3), recordedAtMs: recordedAtMs + 3 },
        { id: b, seq: 1, ...eastOf(1), recordedAtMs },
        { id: 9999, seq: 1, ...eastOf(5) },
      ];
      const batch = batchOf(frames, [
        [a, 'online'],
        [9999, 'online'],
      ]);
      const before = h.store.roundTrips;

      const committed = await h.store.writeBatch(batch);

      expect(h.store.roundTrips - before).toBe(1);
      const seenAtMs = anyNumber();
      expect(committed.sort((x, y) => x.id - y.id)).toEqual([
        { id: a, lastSeq: 3, status: 'online', ...northOf(3), ...nowhereBefore, updatedAtMs: seenAtMs },
        { id: b, lastSeq: 1, status: 'offline', ...eastOf(1), ...nowhereBefore, updatedAtMs: seenAtMs },
      ]);
      expect(Math.abs((committed[0]?.updatedAtMs ?? 0) - Date.now())).toBeLessThan(10_000);
      expect(await history()).toEqual([
        { driverId: a, seq: 1, ...northOf(1), recordedMs: recordedAtMs + 1, receivedMs: batch.receivedAtMs[0] },
        { driverId: a, seq: 2, ...northOf(2), recordedMs: recordedAtMs + 2, receivedMs: batch.receivedAtMs[0] },
        { driverId: a, seq: 3, ...northOf(3), recordedMs: recordedAtMs + 3, receivedMs: batch.receivedAtMs[0] },
        { driverId: b, seq: 1, ...eastOf(1), recordedMs: recordedAtMs, receivedMs: batch.receivedAtMs[0] },
      ]);
      const stored = await h.store.getDriver(a);
      expect(stored).toMatchObject({ id: a, lastSeq: 3, status: 'online', ...northOf(3) });
      expect(Math.abs(Date.parse(stored?.updatedAt ?? '') - Date.now())).toBeLessThan(10_000);
      expect(await h.store.getDriver(untouched)).toMatchObject({ lastSeq: 0, lat: null, lng: null });
    });

    it('ignores resent and out-of-order seqs without touching position or last-seen', async () => {
      const a = await addDriver();
      await h.store.writeBatch(batchOf([1, 2, 3].map((seq) => ({ id: a, seq, ...northOf(seq) }))));

      const partlyResent = await h.store.writeBatch(batchOf([2, 3, 4].map((seq) => ({ id: a, seq, ...northOf(seq) }))));
      expect(partlyResent).toEqual([{ id: a, lastSeq: 4, status: 'offline', ...northOf(4), ...before(northOf(3)), updatedAtMs: anyNumber() }]);
      expect((await history()).map((row) => row.seq)).toEqual([1, 2, 3, 4]);

      const seen = (await h.store.getDriver(a))?.updatedAt;
      // Sleep on purpose, the behaviour is a clock: let it move, so a wrongly moved last-seen would show.
      await sleep(5);
      // Last-seen must not move either: a replayed frame says nothing about the driver now.
      const stale = await h.store.writeBatch(batchOf([{ id: a, seq: 2, ...eastOf(9) }]));
      expect(stale).toEqual([{ ...partlyResent[0], ...before(northOf(4)) }]);
      expect((await history()).map((row) => row.seq)).toEqual([1, 2, 3, 4]);
      expect((await h.store.getDriver(a))?.updatedAt).toBe(seen);
    });

    it('applies a status change without frames, keeping seq and position', async () => {
      const a = await addDriver({ ...northOf(1), lastSeq: 7 });
      const seenAtMs = anyNumber();
      expect(await h.store.writeBatch(batchOf([], [[a, 'online']]))).toEqual([
        { id: a, lastSeq: 7, status: 'online', ...northOf(1), ...before(northOf(1)), updatedAtMs: seenAtMs },
      ]);
      expect(await h.store.writeBatch(batchOf([], [[a, 'offline']]))).toEqual([
        { id: a, lastSeq: 7, status: 'offline', ...northOf(1), ...before(northOf(1)), updatedAtMs: seenAtMs },
      ]);
      expect(await history()).toEqual([]);
    });

    it('returns nothing for an empty batch', async () => {
      await addDriver();
      expect(await h.store.writeBatch(batchOf([]))).toEqual([]);
    });
  });

  it('resumePoints returns the committed seq of known drivers only', async () => {
    const a = await addDriver();
    const b = await addDriver();
    await h.store.writeBatch(batchOf([1, 2, 3].map((seq) => ({ id: a, seq, ...northOf(seq) }))));

    expect(await h.store.resumePoints([a, b, 9999])).toEqual(
      new Map([
        [a, 3],
        [b, 0],
      ]),
    );
    expect(await h.store.resumePoints([])).toEqual(new Map());
    expect((await h.store.getDrivers([b, a, 9999])).map((driver) => driver.id).sort()).toEqual([a, b].sort());
  });

  it('updateLocation moves the driver, bumps its seq, records one history row and says where the driver was', async () => {
    const start = northOf(1);
    const a = await addDriver({ name: 'Ada', vehicleType: 'comfort', rating: 4.7, status: 'online', lastSeq: 5, ...start });
    const target = northOf(2);

    const update = await h.store.updateLocation(a, target.lat, target.lng);
    const record = update?.driver;

    expect(update).toMatchObject({ previousLat: start.lat, previousLng: start.lng });
    expect(record).toMatchObject({
      id: a,
      name: 'Ada',
      phone: '+4930000000',
      vehicleType: 'comfort',
      rating: 4.7,
      totalRides: 0,
      status: 'online',
      ...target,
      lastSeq: 6,
    });
    expect(Math.abs(Date.parse(record?.updatedAt ?? '') - Date.now())).toBeLessThan(10_000);
    expect((await history()).map(({ driverId, seq, lat, lng }) => ({ driverId, seq, lat, lng }))).toEqual([{ driverId: a, seq: 6, ...target }]);
    expect(await h.store.updateLocation(9999, target.lat, target.lng)).toBeNull();
  });

  describe('nearestOnline', () => {
    const seedNearby = async () => ({
      one: await addDriver({ name: 'one', status: 'online', vehicleType: 'economy', rating: 4.5, ...northOf(1) }),
      two: await addDriver({ name: 'two', status: 'online', vehicleType: 'comfort', rating: 4.9, ...eastOf(2) }),
      three: await addDriver({ name: 'three', status: 'online', vehicleType: 'economy', rating: 3.9, ...northOf(3) }),
      far: await addDriver({ name: 'far', status: 'online', ...northOf(8) }),
      offline: await addDriver({ name: 'offline', status: 'offline', ...northOf(0.5) }),
      busy: await addDriver({ name: 'busy', status: 'busy', ...northOf(0.6) }),
      stale: await addDriver({ name: 'stale', status: 'online', ...northOf(0.7), lastSeenAgoMs: 600_000 }),
      nowhere: await addDriver({ name: 'nowhere', status: 'online' }),
    });
    let ids: Awaited<ReturnType<typeof seedNearby>>;

    beforeEach(async () => {
      ids = await seedNearby();
    });

    const near = (overrides: Partial<Parameters<Store['nearestOnline']>[0]> = {}) =>
      h.store
        .nearestOnline({ ...ORIGIN, radiusKm: 5, limit: 10, freshSinceMs: Date.now() - 60_000, ...overrides })
        .then((candidates) => candidates.map((candidate) => candidate.name));

    it('returns fresh online drivers within the radius, nearest first, with their profiles', async () => {
      const candidates = await h.store.nearestOnline({
        ...ORIGIN,
        radiusKm: 5,
        limit: 10,
        freshSinceMs: Date.now() - 60_000,
      });
      expect(candidates).toEqual([
        { id: ids.one, name: 'one', vehicleType: 'economy', rating: 4.5, status: 'online', ...northOf(1) },
        { id: ids.two, name: 'two', vehicleType: 'comfort', rating: 4.9, status: 'online', ...eastOf(2) },
        { id: ids.three, name: 'three', vehicleType: 'economy', rating: 3.9, status: 'online', ...northOf(3) },
      ]);
      const distances = candidates.map((c) => haversineKm(ORIGIN.lat, ORIGIN.lng, c.lat, c.lng));
      expect(distances).toEqual([...distances].sort((x, y) => x - y));
    });

    it('applies radius, limit, vehicle type, rating and freshness filters', async () => {
      expect(await near({ radiusKm: 10 })).toEqual(['one', 'two', 'three', 'far']);
      expect(await near({ radiusKm: 1.5 })).toEqual(['one']);
      expect(await near({ limit: 2 })).toEqual(['one', 'two']);
      expect(await near({ vehicleType: 'economy' })).toEqual(['one', 'three']);
      expect(await near({ vehicleType: 'van' })).toEqual([]);
      expect(await near({ minRating: 4.5 })).toEqual(['one', 'two']);
      expect(await near({ vehicleType: 'economy', minRating: 4 })).toEqual(['one']);
      expect(await near({ freshSinceMs: Date.now() - 3_600_000 })).toEqual(['stale', 'one', 'two', 'three']);
    });

    it('ranks by exact position although the index holds positions snapped to a 0.001° grid', async () => {
      // `snappedNear` sit ~50 m away but snap onto the origin's grid point;
      // `truest` is ~40 m away but snaps ~85 m off. The index meets all of
      // `snappedNear` first, so a correct answer needs the widening refetch.
      const base = { lat: 40, lng: -74 };
      await h.query('UPDATE drivers SET status = $1', ['offline']);
      for (let i = 0; i < 30; i++) {
        await addDriver({ name: `snapped-${i}`, status: 'online', lat: base.lat + 0.00045 + i * 0.000001, lng: base.lng });
      }
      await addDriver({ name: 'truest', status: 'online', lat: base.lat, lng: base.lng - 0.00052 });
      const nearest = await h.store.nearestOnline({ ...base, radiusKm: 1, limit: 1, freshSinceMs: Date.now() - 60_000 });
      expect(nearest.map((d) => d.name)).toEqual(['truest']);
    });

    it('follows a driver that moves or goes offline through writeBatch', async () => {
      await h.store.writeBatch(batchOf([{ id: ids.far, seq: 1, ...northOf(0.2) }], [[ids.one, 'offline']]));
      expect(await near()).toEqual(['far', 'two', 'three']);
    });
  });

  describe('profilesChangedSince', () => {
    // PGlite's clock ticks in whole milliseconds, so each step waits for the
    // clock to pass the high-water mark before changing anything.
    const tick = () => sleep(3);

    it('returns every profile at first, then only what changed, including edits made with plain SQL', async () => {
      const a = await addDriver({ name: 'a', vehicleType: 'economy', rating: 4.1 });
      const b = await addDriver({ name: 'b', vehicleType: 'van', rating: 4.6, status: 'online' });

      const all = await h.store.profilesChangedSince(null);
      expect(all.profiles.sort((x, y) => x.id - y.id)).toEqual([
        { id: a, name: 'a', vehicleType: 'economy', rating: 4.1, status: 'offline' },
        { id: b, name: 'b', vehicleType: 'van', rating: 4.6, status: 'online' },
      ]);
      const first = all.highWaterMs as number;
      expect(Math.abs(first - Date.now())).toBeLessThan(10_000);
      expect(await h.store.profilesChangedSince(first)).toEqual({ profiles: [], highWaterMs: first });

      await tick();
      await h.store.writeBatch(batchOf([{ id: a, seq: 1, ...northOf(1) }]));
      expect((await h.store.profilesChangedSince(first)).profiles).toEqual([]);

      await h.query(`UPDATE drivers SET rating = 3.3, name = 'b2' WHERE id = $1`, [b]);
      const edited = await h.store.profilesChangedSince(first);
      expect(edited.profiles).toEqual([{ id: b, name: 'b2', vehicleType: 'van', rating: 3.3, status: 'online' }]);
      const second = edited.highWaterMs as number;
      expect(second).toBeGreaterThan(first);

      await tick();
      await h.store.writeBatch(batchOf([], [[a, 'online']]));
      const statusChanged = await h.store.profilesChangedSince(second);
      expect(statusChanged.profiles).toEqual([{ id: a, name: 'a', vehicleType: 'economy', rating: 4.1, status: 'online' }]);
      expect(statusChanged.highWaterMs).toBeGreaterThan(second);
    });

    it('reports no high-water mark for an empty table', async () => {
      expect(await h.store.profilesChangedSince(null)).toEqual({ profiles: [], highWaterMs: null });
    });
  });

  it('onlinePositions lists fresh online drivers with a position only', async () => {
    const live = await addDriver({ status: 'online', ...northOf(1) });
    await addDriver({ status: 'online', ...northOf(2), lastSeenAgoMs: 600_000 });
    await addDriver({ status: 'offline', ...northOf(3) });
    await addDriver({ status: 'busy', ...northOf(4) });
    await addDriver({ status: 'online' });

    const positions = await h.store.onlinePositions(Date.now() - 60_000);
    expect(positions).toEqual([{ id: live, status: 'online', ...northOf(1), updatedAtMs: anyNumber() }]);
    expect(Math.abs((positions[0]?.updatedAtMs ?? 0) - Date.now())).toBeLessThan(10_000);
    expect(await h.store.onlinePositions(Date.now() + 60_000)).toEqual([]);
  });
});

describe('pglite data dir', () => {
  it('keeps drivers and history across a restart, and re-migrating is a no-op', async () => {
    const root = await mkdtemp(join(tmpdir(), 'hub-pglite-'));
    // Nested and not yet existing, as a fresh DATA_DIR would be.
    const dataDir = join(root, 'nested', 'data');
    try {
      const first = await createPgliteStore({ dataDir });
      await first.migrate();
      await first.pglite.query(`INSERT INTO drivers (name, phone, vehicle_type, status) VALUES ('Persisted', '+4930000000', 'xl', 'online')`);
      await first.writeBatch(batchOf([{ id: 1, seq: 4, ...northOf(1) }]));
      await first.close();

      const second = await createPgliteStore({ dataDir });
      try {
        // One process per data dir: a second opener is refused while the first holds it.
        await expect(createPgliteStore({ dataDir })).rejects.toThrow(/in use by process/);
        await second.migrate();
        expect(await second.getDriver(1)).toMatchObject({ name: 'Persisted', vehicleType: 'xl', lastSeq: 4, ...northOf(1) });
        expect(await second.resumePoints([1])).toEqual(new Map([[1, 4]]));
        const [migrations] = (await second.pglite.query<{ n: number }>('SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations')).rows;
        expect(migrations?.n).toBe(MIGRATION_COUNT);
      } finally {
        await second.close();
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 60_000);
});
