import { sql, type SQL } from 'drizzle-orm';
import type { VehicleType } from '../domain/driver.ts';
import { transitionSources, freesDriver, type LifecycleStatus, type OfferAnswer, type RideActor, type RideActorRole, type RideStatus } from '../domain/ride.ts';
import type {
  AcceptResult,
  CreateRideResult,
  DeclineResult,
  NewRide,
  OfferCandidate,
  OfferRecord,
  RideDriver,
  RideRecord,
  RideStore,
  RideView,
  TransitionResult,
  WaveEnd,
  WaveResult,
} from './ride-store.ts';

type Row = Record<string, unknown>;

export interface SqlExecutor {
  execute(query: SQL): Promise<{ rows: Row[] }>;
}

/** A drizzle database (node-postgres or PGlite): statements, and transactions that roll back when the callback throws. */
export interface SqlDatabase extends SqlExecutor {
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
}

const rideColumns = sql.raw(`
  r.id, r.rider_id, r.driver_id, r.status, r.pickup_lat, r.pickup_lng, r.dropoff_lat, r.dropoff_lng, r.vehicle_type, r.wave,
  floor(extract(epoch from r.wave_deadline) * 1000)::float8 AS wave_deadline_ms,
  r.requested_at, r.assigned_at, r.arrived_at, r.started_at, r.completed_at, r.cancelled_at, r.unmatched_at,
  r.cancelled_by, r.cancel_reason,
  floor(extract(epoch from coalesce(r.unmatched_at, r.cancelled_at, r.completed_at, r.started_at, r.arrived_at, r.assigned_at, r.requested_at)) * 1000)::float8 AS status_at_ms
`);

const offerColumns = sql.raw(`o.ride_id, o.driver_id, o.wave, o.distance_km, o.sent_at, o.expires_at, o.answer, o.answered_at`);

const driverColumns = sql.raw(`d.id AS d_id, d.name AS d_name, d.vehicle_type AS d_vehicle_type, d.rating AS d_rating, d.lat AS d_lat, d.lng AS d_lng`);

/** The column each lifecycle status stamps. */
const STAMP_COLUMN: Record<LifecycleStatus, string> = {
  arrived: 'arrived_at',
  started: 'started_at',
  completed: 'completed_at',
  cancelled: 'cancelled_at',
};

function iso(value: unknown): string {
  return new Date(value as string | Date).toISOString();
}

function isoOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : iso(value);
}

function numberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function toRide(row: Row): RideRecord {
  const dropoffLat = numberOrNull(row.dropoff_lat);
  const dropoffLng = numberOrNull(row.dropoff_lng);
  return {
    id: String(row.id),
    riderId: String(row.rider_id),
    driverId: numberOrNull(row.driver_id),
    status: row.status as RideStatus,
    pickup: { lat: Number(row.pickup_lat), lng: Number(row.pickup_lng) },
    dropoff: dropoffLat === null || dropoffLng === null ? null : { lat: dropoffLat, lng: dropoffLng },
    vehicleType: (row.vehicle_type as VehicleType | null) ?? null,
    wave: Number(row.wave),
    waveDeadlineMs: numberOrNull(row.wave_deadline_ms),
    requestedAt: iso(row.requested_at),
    assignedAt: isoOrNull(row.assigned_at),
    arrivedAt: isoOrNull(row.arrived_at),
    startedAt: isoOrNull(row.started_at),
    completedAt: isoOrNull(row.completed_at),
    cancelledAt: isoOrNull(row.cancelled_at),
    unmatchedAt: isoOrNull(row.unmatched_at),
    cancelledBy: (row.cancelled_by as RideActorRole | null) ?? null,
    cancelReason: (row.cancel_reason as string | null) ?? null,
    statusAtMs: Number(row.status_at_ms),
  };
}

function toOffer(row: Row): OfferRecord {
  return {
    rideId: String(row.ride_id),
    driverId: Number(row.driver_id),
    wave: Number(row.wave),
    distanceKm: Number(row.distance_km),
    sentAt: iso(row.sent_at),
    expiresAt: iso(row.expires_at),
    answer: (row.answer as OfferAnswer | null) ?? null,
    answeredAt: isoOrNull(row.answered_at),
  };
}

function toDriver(row: Row): RideDriver | null {
  if (row.d_id === null || row.d_id === undefined) return null;
  return {
    id: Number(row.d_id),
    name: String(row.d_name),
    vehicleType: row.d_vehicle_type as VehicleType,
    rating: Number(row.d_rating),
    lat: numberOrNull(row.d_lat),
    lng: numberOrNull(row.d_lng),
  };
}

function at(ms: number): SQL {
  return sql`to_timestamp(${ms}::float8 / 1000.0)`;
}

/** The SQLSTATE of a failed statement; drizzle wraps the driver's error in `cause`. */
function sqlState(error: unknown): { code?: string; constraint?: string } {
  for (let current = error; current && typeof current === 'object'; current = (current as { cause?: unknown }).cause) {
    const { code, constraint } = current as { code?: unknown; constraint?: unknown };
    if (typeof code === 'string') return { code, constraint: typeof constraint === 'string' ? constraint : undefined };
  }
  return {};
}

/** Ends a transaction with ROLLBACK while still handing a result back to the caller (an Error, like anything thrown). */
class RollbackWith<T> extends Error {
  constructor(readonly result: T) {
    super('transaction rolled back to hand back a result');
  }
}

async function rollingBack<T>(db: SqlDatabase, work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  try {
    return await db.transaction(work);
  } catch (error) {
    if (error instanceof RollbackWith) return error.result as T;
    throw error;
  }
}

const DEADLOCK_RETRIES = 3;

/**
 * Two waves claiming overlapping drivers over several passes can, rarely,
 * wait on each other; PostgreSQL then aborts one. The wave is a conditional
 * write that rolled back whole, so it simply runs again.
 */
async function retryingDeadlocks<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (sqlState(error).code !== '40P01' || attempt >= DEADLOCK_RETRIES) throw error;
    }
  }
}

function actorCondition(actor: RideActor): SQL {
  return actor.role === 'rider' ? sql`r.rider_id = ${actor.riderId}` : sql`r.driver_id = ${actor.driverId}`;
}

function isParty(ride: RideRecord, actor: RideActor): boolean {
  return actor.role === 'rider' ? ride.riderId === actor.riderId : ride.driverId === actor.driverId;
}

/**
 * Rides and offers in PostgreSQL (pg and PGlite alike). Locks are always
 * taken ride first, then driver: the accept and every transition follow
 * that order, and location batches lock drivers only, so no two of these
 * transactions can wait on each other in a cycle.
 */
export function createSqlRideStore(db: SqlDatabase): RideStore {
  async function rows(executor: SqlExecutor, query: SQL): Promise<Row[]> {
    return (await executor.execute(query)).rows;
  }

  async function rideById(executor: SqlExecutor, rideId: string): Promise<RideRecord | null> {
    const [row] = await rows(executor, sql`SELECT ${rideColumns} FROM rides r WHERE r.id = ${rideId}`);
    return row ? toRide(row) : null;
  }

  /** The open offers left in a wave, and the ride they belong to. */
  async function waveProgress(executor: SqlExecutor, rideId: string, wave: number) {
    const [row] = await rows(
      executor,
      sql`SELECT ${rideColumns}, (SELECT count(*)::int FROM offers o WHERE o.ride_id = r.id AND o.wave = ${wave} AND o.answer IS NULL) AS open_in_wave
          FROM rides r WHERE r.id = ${rideId}`,
    );
    return { ride: toRide(row!), wave, openInWave: Number(row!.open_in_wave) };
  }

  async function offerAnswer(executor: SqlExecutor, rideId: string, driverId: number): Promise<OfferAnswer | null | undefined> {
    const [row] = await rows(executor, sql`SELECT answer FROM offers WHERE ride_id = ${rideId} AND driver_id = ${driverId}`);
    return row ? ((row.answer as OfferAnswer | null) ?? null) : undefined;
  }

  /** An accept for a ride that is no longer `requested`. */
  async function lateAccept(tx: SqlExecutor, rideId: string, driverId: number, atMs: number): Promise<AcceptResult> {
    const answer = await offerAnswer(tx, rideId, driverId);
    if (answer === undefined) return { kind: 'not_offered' };
    if (answer === 'taken') {
      // Lost the race: the winner already withdrew this offer (and told the
      // driver). Record that the driver did accept, and when.
      await rows(
        tx,
        sql`UPDATE offers SET answer = 'lost', answered_at = ${at(atMs)} WHERE ride_id = ${rideId} AND driver_id = ${driverId} AND answer = 'taken'`,
      );
    }
    // Every transition out of `requested` closes the ride's open offers in the same transaction.
    return { kind: 'closed', answer: answer ?? 'expired' };
  }

  async function declineOffer(rideId: string, driverId: number, atMs: number): Promise<DeclineResult> {
    const [closed] = await rows(
      db,
      sql`UPDATE offers SET answer = 'declined', answered_at = ${at(atMs)}
          WHERE ride_id = ${rideId} AND driver_id = ${driverId} AND answer IS NULL
          RETURNING wave`,
    );
    if (!closed) {
      const answer = await offerAnswer(db, rideId, driverId);
      return answer === undefined ? { kind: 'not_offered' } : { kind: 'closed', answer: answer ?? 'expired' };
    }
    return { kind: 'declined', ...(await waveProgress(db, rideId, Number(closed.wave))) };
  }

  return {
    async createRide(ride: NewRide): Promise<CreateRideResult> {
      try {
        // wave_deadline = now(): until its first wave opens, the ride is already due,
        // so a ride whose hub died before dispatching it is found by the same sweep.
        const [row] = await rows(
          db,
          sql`INSERT INTO rides AS r (rider_id, pickup_lat, pickup_lng, dropoff_lat, dropoff_lng, vehicle_type, wave_deadline)
              VALUES (${ride.riderId}, ${ride.pickup.lat}, ${ride.pickup.lng}, ${ride.dropoff?.lat ?? null}, ${ride.dropoff?.lng ?? null},
                      ${ride.vehicleType}::vehicle_type, now())
              RETURNING ${rideColumns}`,
        );
        return { created: true, ride: toRide(row!) };
      } catch (error) {
        const state = sqlState(error);
        if (state.code !== '23505' || state.constraint !== 'rides_one_open_per_rider') throw error;
        const [open] = await rows(db, sql`SELECT id FROM rides WHERE rider_id = ${ride.riderId} AND status IN ('requested', 'assigned', 'arrived', 'started')`);
        // The open ride ended between the insert and this read: the rider may simply ask again.
        if (!open) throw error;
        return { created: false, openRideId: String(open.id) };
      }
    },

    openWave(rideId, wave, candidates, want, expiresAtMs): Promise<WaveResult> {
      return retryingDeadlocks(() =>
        rollingBack(db, async (tx) => {
          // The conditional write that owns the wave: only one timer, decline or
          // hub process can move the ride from wave - 1 to wave.
          const [opened] = await rows(
            tx,
            sql`UPDATE rides r SET wave = ${wave}, wave_deadline = ${at(expiresAtMs)}
              WHERE r.id = ${rideId} AND r.status = 'requested' AND r.wave = ${wave - 1}
              RETURNING ${rideColumns}`,
          );
          if (!opened) throw new RollbackWith<WaveResult>({ opened: false, ride: await rideById(tx, rideId) });
          const offers = await insertOffers(tx, rideId, wave, candidates, want, expiresAtMs);
          return { opened: true, ride: toRide(opened), offers };
        }),
      );
    },

    async acceptOffer(rideId, driverId, atMs): Promise<AcceptResult> {
      const outcome = await rollingBack(db, async (tx): Promise<AcceptResult | 'driver_not_online'> => {
        // 1. The ride, conditional on `requested` (and on having been offered
        //    to this driver at all). Concurrent accepts queue on this row's
        //    lock; when the winner commits, each re-reads the row, finds
        //    `assigned` and updates nothing.
        const [assigned] = await rows(
          tx,
          sql`UPDATE rides r SET status = 'assigned', driver_id = ${driverId}, assigned_at = now(), wave_deadline = NULL
              WHERE r.id = ${rideId} AND r.status = 'requested'
                AND EXISTS (SELECT 1 FROM offers o WHERE o.ride_id = r.id AND o.driver_id = ${driverId})
              RETURNING ${rideColumns}`,
        );
        if (!assigned) return lateAccept(tx, rideId, driverId, atMs);
        // 2. This driver's offer, conditional on being open, or on having
        //    expired after this accept arrived: a deadline never beats an
        //    answer that was already in (another hub may have run the wave's
        //    timer meanwhile). Locked after the ride, as everywhere.
        const [own] = await rows(
          tx,
          sql`UPDATE offers SET answer = 'accepted', answered_at = ${at(atMs)}
              WHERE ride_id = ${rideId} AND driver_id = ${driverId}
                AND (answer IS NULL OR (answer = 'expired' AND expires_at >= ${at(atMs)}))
              RETURNING wave`,
        );
        if (!own) {
          const answer = await offerAnswer(tx, rideId, driverId);
          throw new RollbackWith<AcceptResult>(answer === undefined || answer === null ? { kind: 'not_offered' } : { kind: 'closed', answer });
        }
        // 3. The driver, conditional on `online`. Not online: undo it all.
        const [driver] = await rows(tx, sql`UPDATE drivers d SET status = 'busy' WHERE d.id = ${driverId} AND d.status = 'online' RETURNING ${driverColumns}`);
        if (!driver) throw new RollbackWith('driver_not_online' as const);
        // 4. The ride's other open offers are withdrawn.
        const taken = await rows(
          tx,
          sql`UPDATE offers SET answer = 'taken', answered_at = ${at(atMs)} WHERE ride_id = ${rideId} AND answer IS NULL RETURNING driver_id`,
        );
        return { kind: 'assigned', ride: toRide(assigned), driver: toDriver(driver)!, withdrawn: taken.map((row) => Number(row.driver_id)) };
      });
      if (outcome !== 'driver_not_online') return outcome;
      // The driver went offline since the offer: it ends as a decline.
      const declined = await declineOffer(rideId, driverId, atMs);
      return declined.kind === 'declined' ? { ...declined, kind: 'unavailable' } : declined;
    },

    declineOffer: (rideId, driverId, atMs) => declineOffer(rideId, driverId, atMs),

    endWave(rideId, wave, atMs): Promise<WaveEnd> {
      return db.transaction(async (tx) => {
        // The ride's lock first, as in every transaction that touches its offers.
        const [row] = await rows(tx, sql`SELECT ${rideColumns} FROM rides r WHERE r.id = ${rideId} FOR NO KEY UPDATE`);
        const expired = await rows(
          tx,
          sql`UPDATE offers SET answer = 'expired', answered_at = ${at(atMs)}
              WHERE ride_id = ${rideId} AND wave = ${wave} AND answer IS NULL
              RETURNING driver_id`,
        );
        return { ride: row ? toRide(row) : null, expired: expired.map((expiredRow) => Number(expiredRow.driver_id)) };
      });
    },

    async markUnmatched(rideId, wave) {
      return db.transaction(async (tx) => {
        const [row] = await rows(
          tx,
          sql`UPDATE rides r SET status = 'unmatched', unmatched_at = now(), wave_deadline = NULL
              WHERE r.id = ${rideId} AND r.status = 'requested' AND r.wave = ${wave}
              RETURNING ${rideColumns}`,
        );
        if (!row) return null;
        // None should be open (the wave ended first); a ride that ends closes every offer it made.
        await rows(tx, sql`UPDATE offers SET answer = 'expired', answered_at = now() WHERE ride_id = ${rideId} AND answer IS NULL`);
        return toRide(row);
      });
    },

    transition(rideId, actor, to, reason): Promise<TransitionResult> {
      return db.transaction(async (tx) => {
        const stamp = sql.raw(STAMP_COLUMN[to]);
        const cancelFields = to === 'cancelled' ? sql`, cancelled_by = ${actor.role}, cancel_reason = ${reason}` : sql``;
        const [row] = await rows(
          tx,
          sql`UPDATE rides r SET status = ${to}::ride_status, ${stamp} = now(), wave_deadline = NULL ${cancelFields}
              WHERE r.id = ${rideId} AND r.status = ANY(${sql.param([...transitionSources(to)])}::text[]::ride_status[]) AND ${actorCondition(actor)}
              RETURNING ${rideColumns}`,
        );
        if (!row) {
          const ride = await rideById(tx, rideId);
          return ride && isParty(ride, actor) ? { kind: 'illegal', ride } : { kind: 'not_found' };
        }
        const ride = toRide(row);
        let withdrawn: number[] = [];
        if (to === 'cancelled') {
          const closed = await rows(
            tx,
            sql`UPDATE offers SET answer = 'cancelled', answered_at = now() WHERE ride_id = ${rideId} AND answer IS NULL RETURNING driver_id`,
          );
          withdrawn = closed.map((closedRow) => Number(closedRow.driver_id));
        }
        if (freesDriver(to) && ride.driverId !== null) {
          const completed = to === 'completed' ? sql`, total_rides = total_rides + 1` : sql``;
          await rows(tx, sql`UPDATE drivers SET status = 'online' ${completed} WHERE id = ${ride.driverId} AND status = 'busy'`);
        }
        return { kind: 'done', ride, withdrawn };
      });
    },

    getRide: (rideId) => rideById(db, rideId),

    async getRideWithOffers(rideId) {
      const ride = await rideById(db, rideId);
      if (!ride) return null;
      const offerRows = await rows(db, sql`SELECT ${offerColumns} FROM offers o WHERE o.ride_id = ${rideId} ORDER BY o.wave, o.sent_at, o.distance_km`);
      return { ride, offers: offerRows.map(toOffer) };
    },

    async openRides(actor): Promise<RideView[]> {
      const found = await rows(
        db,
        sql`SELECT ${rideColumns}, ${driverColumns}
            FROM rides r LEFT JOIN drivers d ON d.id = r.driver_id
            WHERE ${actorCondition(actor)} AND r.status IN ('requested', 'assigned', 'arrived', 'started')
            ORDER BY r.requested_at`,
      );
      return found.map((row) => ({ ride: toRide(row), driver: toDriver(row) }));
    },

    async overdueRides(beforeMs, limit) {
      const due = await rows(
        db,
        sql`SELECT ${rideColumns} FROM rides r
            WHERE r.status = 'requested' AND r.wave_deadline < ${at(beforeMs)}
            ORDER BY r.wave_deadline LIMIT ${limit}`,
      );
      return due.map(toRide);
    },

    async openOffer(driverId) {
      // driver_id and wave name columns of both tables: the offer's are aliased.
      const [row] = await rows(
        db,
        sql`SELECT ${rideColumns}, o.ride_id, o.driver_id AS offer_driver_id, o.wave AS offer_wave, o.distance_km, o.sent_at, o.expires_at, o.answer, o.answered_at
            FROM offers o JOIN rides r ON r.id = o.ride_id
            WHERE o.driver_id = ${driverId} AND o.answer IS NULL`,
      );
      return row ? { offer: toOffer({ ...row, driver_id: row.offer_driver_id, wave: row.offer_wave }), ride: toRide(row) } : null;
    },
  };
}

/**
 * Offers the ride to up to `want` candidates in order. A candidate is
 * skipped when not `online`, when it already holds an open offer (the
 * partial unique index offers_one_open_per_driver, which another hub's
 * concurrent wave may claim first: ON CONFLICT DO NOTHING) or when this ride
 * was offered to it before. A pass whose picks lost to conflicts tries the
 * next candidates, so a wave fills up while candidates last. Each pass
 * inserts in driver id order, so two waves claiming the same drivers wait
 * for each other in one order only.
 */
async function insertOffers(
  tx: SqlExecutor,
  rideId: string,
  wave: number,
  candidates: OfferCandidate[],
  want: number,
  expiresAtMs: number,
): Promise<OfferRecord[]> {
  let offeredCount = 0;
  let remaining = candidates;
  while (offeredCount < want && remaining.length > 0) {
    const [pass] = (
      await tx.execute(sql`
        WITH picked AS (
          SELECT c.driver_id, c.distance_km
          FROM unnest(${sql.param(remaining.map((candidate) => candidate.driverId))}::int[], ${sql.param(remaining.map((candidate) => candidate.distanceKm))}::float8[])
               WITH ORDINALITY AS c(driver_id, distance_km, ord)
          JOIN drivers d ON d.id = c.driver_id AND d.status = 'online'
          WHERE NOT EXISTS (SELECT 1 FROM offers p WHERE p.ride_id = ${rideId} AND p.driver_id = c.driver_id)
            AND NOT EXISTS (SELECT 1 FROM offers p WHERE p.driver_id = c.driver_id AND p.answer IS NULL)
          ORDER BY c.ord
          LIMIT ${want - offeredCount}
        ),
        inserted AS (
          INSERT INTO offers (ride_id, driver_id, wave, distance_km, expires_at)
          SELECT ${rideId}, driver_id, ${wave}, distance_km, ${at(expiresAtMs)} FROM picked ORDER BY driver_id
          ON CONFLICT DO NOTHING
          RETURNING driver_id
        )
        SELECT (SELECT count(*)::int FROM inserted) AS inserted, array(SELECT driver_id FROM picked) AS picked
      `)
    ).rows;
    const picked = new Set((pass!.picked as number[]).map(Number));
    if (picked.size === 0) break;
    offeredCount += Number(pass!.inserted);
    remaining = remaining.filter((candidate) => !picked.has(candidate.driverId));
  }
  if (offeredCount === 0) return [];
  // The INSERT read driver statuses in its own snapshot; a driver that turned
  // busy (its accept elsewhere committed) while it ran must not keep an offer.
  // This statement's fresh snapshot sees that commit, and no accept can
  // commit for a driver after this point: its one open offer is now ours.
  const kept = (
    await tx.execute(sql`
      WITH stale AS (
        DELETE FROM offers o USING drivers d
        WHERE o.ride_id = ${rideId} AND o.wave = ${wave} AND d.id = o.driver_id AND d.status <> 'online'
        RETURNING o.driver_id
      )
      SELECT ${offerColumns} FROM offers o
      WHERE o.ride_id = ${rideId} AND o.wave = ${wave} AND o.driver_id NOT IN (SELECT driver_id FROM stale)
      ORDER BY o.distance_km, o.driver_id
    `)
  ).rows;
  return kept.map(toOffer);
}
