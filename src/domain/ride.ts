/**
 * What a ride is, independent of any wire format or table: its statuses, the
 * transitions between them and who may make each one, and how an offer of a
 * ride to a driver can end. The `ride_status` and `offer_answer` enums of the
 * database and the protocol's `ride.status` values are these lists.
 */
export const RIDE_STATUSES = ['requested', 'assigned', 'arrived', 'started', 'completed', 'cancelled', 'unmatched'] as const;
export type RideStatus = (typeof RIDE_STATUSES)[number];

/** Statuses in which a ride still holds its rider (and, once assigned, its driver). */
export const OPEN_RIDE_STATUSES = ['requested', 'assigned', 'arrived', 'started'] as const satisfies readonly RideStatus[];
export type OpenRideStatus = (typeof OPEN_RIDE_STATUSES)[number];

/** Statuses in which the rider watches the assigned driver approach (`ride.driver` pushes). */
export const APPROACH_STATUSES = ['assigned', 'arrived'] as const satisfies readonly RideStatus[];

export function isOpenRideStatus(status: RideStatus): status is OpenRideStatus {
  return (OPEN_RIDE_STATUSES as readonly RideStatus[]).includes(status);
}

export function isApproachStatus(status: RideStatus): boolean {
  return (APPROACH_STATUSES as readonly RideStatus[]).includes(status);
}

export type RideActorRole = 'rider' | 'driver';

/** Who is acting on a ride: the rider who requested it, or a driver. */
export type RideActor = { role: 'rider'; riderId: string } | { role: 'driver'; driverId: number };

/**
 * The lifecycle transitions a party may ask for, each from the statuses it
 * may leave and by whom. Dispatch itself makes the others: `requested` to
 * `assigned` (an accepted offer) and to `unmatched` (no waves left).
 *
 * A started ride cannot be cancelled: the trip is under way, and the driver
 * ends it with `completed`.
 */
export const LIFECYCLE_TRANSITIONS = {
  arrived: { from: ['assigned'], by: ['driver'] },
  started: { from: ['arrived'], by: ['driver'] },
  completed: { from: ['started'], by: ['driver'] },
  cancelled: { from: ['requested', 'assigned', 'arrived'], by: ['rider', 'driver'] },
} as const satisfies Record<string, { from: readonly RideStatus[]; by: readonly RideActorRole[] }>;

export type LifecycleStatus = keyof typeof LIFECYCLE_TRANSITIONS;

/** The statuses a ride may move to `to` from. */
export function transitionSources(to: LifecycleStatus): readonly RideStatus[] {
  return LIFECYCLE_TRANSITIONS[to].from;
}

/** Whether `role` may ask for `to` at all (on a ride that is theirs). */
export function mayRequestTransition(role: RideActorRole, to: LifecycleStatus): boolean {
  return (LIFECYCLE_TRANSITIONS[to].by as readonly RideActorRole[]).includes(role);
}

/** Transitions that end a ride's hold on its driver: the driver is `online` again. */
export function freesDriver(to: RideStatus): boolean {
  return to === 'completed' || to === 'cancelled';
}

/**
 * How an offer ended, as recorded for replaying a dispute:
 * - `accepted`: this driver won the ride;
 * - `lost`: this driver accepted, but another accept had already won;
 * - `declined`: the driver said no, or was not online to take it;
 * - `expired`: no answer before the offer's deadline;
 * - `taken`: another driver won while this offer was still open;
 * - `cancelled`: the ride was cancelled while this offer was open.
 */
export const OFFER_ANSWERS = ['accepted', 'lost', 'declined', 'expired', 'taken', 'cancelled'] as const;
export type OfferAnswer = (typeof OFFER_ANSWERS)[number];

/** Why an offer was withdrawn from a driver (`offer.cancelled`). */
export const OFFER_CANCEL_REASONS = ['taken', 'expired', 'cancelled', 'unavailable'] as const;
export type OfferCancelReason = (typeof OFFER_CANCEL_REASONS)[number];

/** The radius of dispatch wave `wave` (1-based): the first wave's radius, doubled each wave after it. */
export function waveRadiusKm(firstRadiusKm: number, wave: number): number {
  return firstRadiusKm * 2 ** (wave - 1);
}
