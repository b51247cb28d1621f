import { withDb } from './fleet.ts';
import { framePosition, type RecordingDriver } from './recording-driver.ts';

export interface DeliveryReport {
  drivers: number;
  /** Rows in driver_locations for these drivers. */
  rows: number;
  /** Acked frames: the sum of every driver's highest ack. */
  acked: number;
  /** Each a sentence naming a driver and a broken promise; empty when all hold. */
  violations: string[];
}

/**
 * Holds the database to the hub's promises for each driver: history is
 * exactly seqs 1..last_seq, each once and at the position that was sent;
 * nothing acked is missing; the current position is the newest frame.
 */
export async function checkDelivery(databaseUrl: string, drivers: RecordingDriver[]): Promise<DeliveryReport> {
  const ids = drivers.map((driver) => driver.id);
  const { history, current } = await withDb(databaseUrl, async (db) => ({
    history: (
      await db.query<{ driver_id: number; seq: string; lat: number; lng: number }>(
        'SELECT driver_id, seq, lat, lng FROM driver_locations WHERE driver_id = ANY($1::int[]) ORDER BY driver_id, seq',
        [ids],
      )
    ).rows,
    current: (
      await db.query<{ id: number; last_seq: string; lat: number; lng: number }>('SELECT id, last_seq, lat, lng FROM drivers WHERE id = ANY($1::int[])', [ids])
    ).rows,
  }));
  const seqsByDriver = new Map<number, number[]>();
  const violations: string[] = [];
  for (const row of history) {
    const seq = Number(row.seq);
    const expected = framePosition(row.driver_id, seq);
    if (row.lat !== expected.lat || row.lng !== expected.lng)
      violations.push(`driver ${row.driver_id} seq ${seq}: stored at ${row.lat},${row.lng}, sent ${expected.lat},${expected.lng}`);
    let seqs = seqsByDriver.get(row.driver_id);
    if (!seqs) seqsByDriver.set(row.driver_id, (seqs = []));
    seqs.push(seq);
  }
  const currentById = new Map(current.map((row) => [row.id, row]));
  for (const driver of drivers) {
    const seqs = seqsByDriver.get(driver.id) ?? [];
    const newest = seqs.at(-1) ?? 0;
    // Sorted, so 1..newest each exactly once means seqs[i] === i + 1 everywhere.
    const broken = seqs.findIndex((seq, index) => seq !== index + 1);
    if (broken !== -1) violations.push(`driver ${driver.id}: history is not 1..${newest} exactly once (at position ${broken}: seq ${seqs[broken]})`);
    if (newest < driver.lastAck) violations.push(`driver ${driver.id}: acked up to ${driver.lastAck} but history ends at ${newest}`);
    if (newest > driver.lastSent) violations.push(`driver ${driver.id}: history holds seq ${newest}, never sent`);
    const row = currentById.get(driver.id);
    if (!row || Number(row.last_seq) !== newest) violations.push(`driver ${driver.id}: last_seq ${row?.last_seq} but newest frame ${newest}`);
    if (row && newest > 0) {
      const expected = framePosition(driver.id, newest);
      if (row.lat !== expected.lat || row.lng !== expected.lng) violations.push(`driver ${driver.id}: current position is not frame ${newest}`);
    }
  }
  return {
    drivers: drivers.length,
    rows: history.length,
    acked: drivers.reduce((sum, driver) => sum + driver.lastAck, 0),
    violations,
  };
}
