// The one wire contract: everything a hub, a client, a test or the benchmark
// needs to speak protocol v1. Imports only zod, msgpackr and src/domain.
export * from './close-codes.ts';
export * from './codec.ts';
export * from './errors.ts';
export * from './handshake.ts';
export * from './limits.ts';
export * from './messages.ts';
export * from './parse.ts';
export * from './ranking.ts';
export * from './rest.ts';
export * from './zod-errors.ts';
export type { DeclaredStatus, DriverRecord, DriverStatus, VehicleType } from '../domain/driver.ts';
export { VEHICLE_TYPES } from '../domain/driver.ts';
export * from './ack-frame.ts';
