import type { BenchPhase } from '../bench-run.ts';
import { dispatchStorm } from './dispatch-storm.ts';
import { idleMemory } from './idle-memory.ts';
import { ingestCeiling } from './ingest-ceiling.ts';
import { largeFleetNearby, largeFleetSeed } from './large-fleet.ts';
import { liveNearby } from './live-nearby.ts';
import { nearbyCeilings } from './nearby-ceilings.ts';
import { nearbyRedis, originalRead, sqlFallback } from './nearby-while-driving.ts';
import { reconnectStorm } from './reconnect-storm.ts';
import { restPost } from './rest-post.ts';
import { scaleOut } from './scale-out.ts';
import { steadyFleet } from './steady-fleet.ts';
import { storeCeilings } from './store-ceilings.ts';

/**
 * The run, in order. Order matters: the steady fleet stays connected through
 * the nearby-while-driving, live nearby, dispatch storm and reconnect storm phases (the SQL fallback phase
 * disconnects it), the scale-out layouts start hubs of their own once the
 * ingest ceiling has let every driver go, and the large fleet is seeded on
 * top of everything before it.
 */
export const PHASES: readonly BenchPhase[] = [
  idleMemory,
  storeCeilings,
  steadyFleet,
  nearbyRedis,
  originalRead,
  liveNearby,
  dispatchStorm,
  reconnectStorm,
  sqlFallback,
  nearbyCeilings,
  restPost,
  ingestCeiling,
  scaleOut,
  largeFleetSeed,
  largeFleetNearby,
];
