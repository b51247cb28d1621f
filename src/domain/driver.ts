/**
 * What a driver is, independent of any wire format or table: the vehicle
 * classes and statuses (the database enums and the protocol both use these
 * lists), the profile nearby answers are enriched with, and the full record.
 */
export const VEHICLE_TYPES = ['economy', 'comfort', 'xl', 'van'] as const;
export const DRIVER_STATUSES = ['online', 'offline', 'busy'] as const;
export type VehicleType = (typeof VEHICLE_TYPES)[number];
export type DriverStatus = (typeof DRIVER_STATUSES)[number];
/** The statuses a driver may declare itself; `busy` is set by dispatch. */
export type DeclaredStatus = Exclude<DriverStatus, 'busy'>;

export interface DriverProfile {
  id: number;
  name: string;
  vehicleType: VehicleType;
  rating: number;
  status: DriverStatus;
}

/** A driver as stored, with position and resume point. */
export interface DriverRecord extends DriverProfile {
  phone: string;
  totalRides: number;
  lat: number | null;
  lng: number | null;
  /** ISO 8601 time of the last frame or status change applied: "last seen". */
  updatedAt: string;
  lastSeq: number;
}

/** A driver to be created (seeding, imports). */
export interface NewDriver {
  name: string;
  phone: string;
  vehicleType: VehicleType;
  rating: number;
  totalRides: number;
  status: DriverStatus;
  lat: number;
  lng: number;
}
