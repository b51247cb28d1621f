// The public entry for the seed fleet outside the server: the benchmark seeds
// and aims at the same deterministic fleet as `npm run db:seed`. Plain data,
// so importing it loads no database driver.
export type { NewDriver } from '../domain/driver.ts';
export { generateFleet, TIMES_SQUARE, type FleetOptions } from '../seed/fleet.ts';
