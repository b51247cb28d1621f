import type { NewDriver } from '../domain/driver.ts';
import type { FleetMaintenance } from '../store/fleet-maintenance.ts';
import type { Store } from '../store/types.ts';
import { generateFleet, type FleetOptions } from './fleet.ts';

export type SeedOutcome =
  /** Drivers were added; `kept` of the fleet were there already (an earlier, perhaps interrupted, run). */
  | { kind: 'seeded'; inserted: number; kept: number; total: number }
  /** Stopped between two chunks on request: what was inserted is kept, and a rerun completes the fleet. */
  | { kind: 'interrupted'; inserted: number; kept: number; total: number }
  /** The database already holds the whole fleet (and perhaps more of it): nothing written. */
  | { kind: 'unchanged'; total: number }
  /** The database holds drivers that are not this seed's fleet: nothing written. */
  | { kind: 'foreign'; total: number; firstDifferentId: number };

export interface SeedOptions extends FleetOptions {
  /** Delete every driver (and its history) first, so the fleet starts again from id 1. */
  reset: boolean;
  /** Set-based inserts of this many drivers at a time. */
  chunkSize?: number;
  onProgress?: (inserted: number, toInsert: number) => void;
  /** Checked between chunks: true stops there, each chunk being one statement that is in or out as a whole. */
  stopRequested?: () => boolean;
}

const sameDriver = (stored: { name: string; phone: string; vehicleType: string }, generated: NewDriver) =>
  stored.name === generated.name && stored.phone === generated.phone && stored.vehicleType === generated.vehicleType;

/**
 * Makes the database hold the first `count` drivers of the seed's fleet,
 * idempotently: a rerun with the same seed finds them and writes nothing, a
 * larger count adds only the missing ones, an interrupted run is completed.
 * The fleet is recognised by name, phone and vehicle in id order (fixed by
 * the seed; positions and statuses change as drivers stream). A database
 * holding other drivers is left alone unless `reset` is set.
 */
export async function seedFleet(store: Store & FleetMaintenance, options: SeedOptions): Promise<SeedOutcome> {
  const chunkSize = options.chunkSize ?? 10_000;
  if (options.reset) await store.deleteAllDrivers();

  // Compare the stored fleet with the generated one page by page before writing anything.
  const generated = generateFleet(options);
  let kept = 0;
  let lastId = 0;
  const missing: NewDriver[] = [];
  for (;;) {
    const stored = await store.driverIdentities(lastId, chunkSize);
    for (const row of stored) {
      const next = generated.next();
      if (next.done) return { kind: 'unchanged', total: await store.countDrivers() };
      if (!sameDriver(row, next.value)) return { kind: 'foreign', total: await store.countDrivers(), firstDifferentId: row.id };
      kept += 1;
      lastId = row.id;
    }
    if (stored.length < chunkSize) break;
  }
  if (kept === options.count) return { kind: 'unchanged', total: kept };

  const toInsert = options.count - kept;
  let inserted = 0;
  const flush = async () => {
    await store.insertDrivers(missing);
    inserted += missing.length;
    missing.length = 0;
    options.onProgress?.(inserted, toInsert);
  };
  for (const driver of generated) {
    missing.push(driver);
    if (missing.length < chunkSize) continue;
    await flush();
    if (options.stopRequested?.()) return { kind: 'interrupted', inserted, kept, total: await store.countDrivers() };
  }
  if (missing.length > 0) await flush();
  return { kind: 'seeded', inserted, kept, total: await store.countDrivers() };
}
