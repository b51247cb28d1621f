import type { DriverRecord, DriverStatus, VehicleType } from '../../src/domain/driver.ts';
import { haversineKm } from '../../src/domain/geo.ts';
import type { Candidate, CandidateQuery, CommittedDriver, LocationBatch, Store } from '../../src/store/types.ts';

export interface FakeDriver {
  id: number;
  name?: string;
  vehicleType?: VehicleType;
  rating?: number;
  status?: DriverStatus;
  lat?: number | null;
  lng?: number | null;
  /** Last seen; defaults to now. */
  updatedAtMs?: number;
  lastSeq?: number;
}

type Row = Required<FakeDriver>;

/** What the domain services under unit test use of a Store. */
type FakedMethod =
  'kind' | 'roundTrips' | 'writeBatch' | 'resumePoints' | 'getDrivers' | 'getDriver' | 'nearestOnline' | 'countDrivers' | 'migrate' | 'ping' | 'close';

/** One writeBatch call held by a store in manual mode, for the test to settle. */
export interface HeldWrite {
  readonly batch: LocationBatch;
  /** Applies the batch and answers with the committed drivers. */
  commit(): void;
  /** Answers with an error; nothing is written. */
  fail(error?: Error): void;
  /** Applies the batch, then answers with an error: a commit whose reply was lost. */
  commitThenFail(error?: Error): void;
}

/**
 * An in-memory Store for unit tests of the domain services: writeBatch keeps
 * the SQL statement's rules (a frame is written only above the driver's
 * last_seq; the newest frame sets the position; a status applies as is), and
 * nearestOnline filters and orders like the indexed query. In manual mode
 * each writeBatch waits for the test to commit or fail it, so a test can
 * hold a batch in flight. Hand services `asStore()`: the Store methods not
 * faked here reject, so a service calling one fails its test loudly.
 */
export class FakeStore implements Pick<Store, FakedMethod> {
  readonly kind = 'postgres' as const;
  roundTrips = 0;
  /** Every batch writeBatch received, in call order, failed ones included. */
  readonly writes: LocationBatch[] = [];
  /** `[driverId, seq]` of every frame written, in commit order: what the history table would hold. */
  readonly history: Array<[number, number]> = [];
  /** Calls made to nearestOnline, in order. */
  readonly nearestQueries: CandidateQuery[] = [];
  /** Writes waiting for the test, oldest first (manual mode only). */
  readonly held: HeldWrite[] = [];
  private readonly rows = new Map<number, Row>();
  private manual = false;
  private nearestFailure: Error | undefined;
  private driversFailure: Error | undefined;

  constructor(drivers: FakeDriver[] = []) {
    for (const driver of drivers) this.addDriver(driver);
  }

  /** From now on every writeBatch waits in `held` until the test settles it. */
  holdWrites(): this {
    this.manual = true;
    return this;
  }

  /** Makes nearestOnline reject with `error` (or answer again when undefined). */
  failNearest(error: Error | undefined): void {
    this.nearestFailure = error;
  }

  /** Makes getDrivers reject with `error` (or answer again when undefined). */
  failGetDrivers(error: Error | undefined): void {
    this.driversFailure = error;
  }

  addDriver(driver: FakeDriver): void {
    this.rows.set(driver.id, {
      name: `driver ${driver.id}`,
      vehicleType: 'economy',
      rating: 4.5,
      status: 'offline',
      lat: null,
      lng: null,
      updatedAtMs: Date.now(),
      lastSeq: 0,
      ...driver,
    });
  }

  driver(id: number): Readonly<Row> | undefined {
    return this.rows.get(id);
  }

  writeBatch(batch: LocationBatch): Promise<CommittedDriver[]> {
    this.roundTrips += 1;
    // The caller may reuse its arrays once the promise settles: keep a copy.
    const copy = structuredClone(batch);
    this.writes.push(copy);
    if (!this.manual) return Promise.resolve(this.apply(copy));
    return new Promise((resolve, reject) => {
      this.held.push({
        batch: copy,
        commit: () => resolve(this.apply(copy)),
        fail: (error = new Error('connection terminated')) => reject(error),
        commitThenFail: (error = new Error('connection terminated after commit')) => {
          this.apply(copy);
          reject(error);
        },
      });
    });
  }

  async resumePoints(ids: number[]): Promise<Map<number, number>> {
    const points = new Map<number, number>();
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row) points.set(id, row.lastSeq);
    }
    return points;
  }

  async getDrivers(ids: number[]): Promise<DriverRecord[]> {
    if (this.driversFailure) throw this.driversFailure;
    return ids.flatMap((id) => {
      const row = this.rows.get(id);
      return row ? [toRecord(row)] : [];
    });
  }

  async getDriver(id: number): Promise<DriverRecord | null> {
    return (await this.getDrivers([id]))[0] ?? null;
  }

  async nearestOnline(query: CandidateQuery): Promise<Candidate[]> {
    this.nearestQueries.push(query);
    if (this.nearestFailure) throw this.nearestFailure;
    const found: Array<Candidate & { distanceKm: number }> = [];
    for (const row of this.rows.values()) {
      if (row.status !== 'online' || row.lat === null || row.lng === null || row.updatedAtMs < query.freshSinceMs) continue;
      if (query.vehicleType && row.vehicleType !== query.vehicleType) continue;
      if (query.minRating !== undefined && row.rating < query.minRating) continue;
      const distanceKm = haversineKm(query.lat, query.lng, row.lat, row.lng);
      if (distanceKm > query.radiusKm) continue;
      found.push({ id: row.id, name: row.name, vehicleType: row.vehicleType, rating: row.rating, status: row.status, lat: row.lat, lng: row.lng, distanceKm });
    }
    return found
      .sort((a, b) => a.distanceKm - b.distanceKm || a.id - b.id)
      .slice(0, query.limit)
      .map(({ distanceKm: _distanceKm, ...candidate }) => candidate);
  }

  async countDrivers(): Promise<number> {
    return this.rows.size;
  }

  async migrate(): Promise<void> {}
  async ping(): Promise<void> {}
  async close(): Promise<void> {}

  /** This fake as a whole Store: the methods it does not fake reject, naming themselves. */
  asStore(): Store {
    return new Proxy(this, {
      get(target, property, receiver) {
        if (property in target) {
          const value: unknown = Reflect.get(target, property, receiver);
          // Every function member of the fake is a method of it: bound here, it keeps its `this` when the service destructures it.
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        }
        return () => Promise.reject(new Error(`FakeStore.${String(property)} is not faked: the service under test should not call it`));
      },
    }) as unknown as Store;
  }

  /** The batch statement's rules, on the in-memory rows. */
  private apply(batch: LocationBatch): CommittedDriver[] {
    const touched = new Set<number>();
    const nowMs = Date.now();
    // Where each named driver was before the batch, as the statement reads it under its row locks.
    const before = new Map<number, { lat: number | null; lng: number | null }>();
    for (const id of [...batch.driverIds, ...batch.statusDriverIds]) {
      const row = this.rows.get(id);
      if (row && !before.has(id)) before.set(id, { lat: row.lat, lng: row.lng });
    }
    for (let index = 0; index < batch.driverIds.length; index++) {
      const row = this.rows.get(batch.driverIds[index]!);
      if (!row || batch.seqs[index]! <= row.lastSeq) continue;
      row.lastSeq = batch.seqs[index]!;
      row.lat = batch.lats[index]!;
      row.lng = batch.lngs[index]!;
      row.updatedAtMs = nowMs;
      this.history.push([row.id, row.lastSeq]);
      touched.add(row.id);
    }
    for (let index = 0; index < batch.statusDriverIds.length; index++) {
      const row = this.rows.get(batch.statusDriverIds[index]!);
      if (!row) continue;
      row.status = batch.statuses[index]!;
      row.updatedAtMs = nowMs;
      touched.add(row.id);
    }
    // Every driver the batch named answers with its state, written or not, as the statement does.
    for (const id of [...batch.driverIds, ...batch.statusDriverIds]) if (this.rows.has(id)) touched.add(id);
    return [...touched]
      .sort((a, b) => a - b)
      .map((id) => {
        const row = this.rows.get(id)!;
        const previous = before.get(id)!;
        return {
          id,
          lastSeq: row.lastSeq,
          status: row.status,
          lat: row.lat,
          lng: row.lng,
          previousLat: previous.lat,
          previousLng: previous.lng,
          updatedAtMs: row.updatedAtMs,
        };
      });
  }
}

function toRecord(row: Row): DriverRecord {
  return {
    id: row.id,
    name: row.name,
    phone: `+1555${String(row.id).padStart(7, '0')}`,
    vehicleType: row.vehicleType,
    rating: row.rating,
    totalRides: 0,
    status: row.status,
    lat: row.lat,
    lng: row.lng,
    updatedAt: new Date(row.updatedAtMs).toISOString(),
    lastSeq: row.lastSeq,
  };
}
