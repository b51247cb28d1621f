import { VEHICLE_TYPES, type NewDriver, type VehicleType } from '../domain/driver.ts';
import { randomPointInDisc } from '../domain/geo.ts';
import { createRng } from '../domain/random.ts';

export interface FleetOptions {
  count: number;
  seed: number;
  center: { lat: number; lng: number };
  radiusKm: number;
  onlineShare: number;
}

export const TIMES_SQUARE = { lat: 40.7589, lng: -73.9851 } as const;

const FIRST_NAMES = [
  'James',
  'Maria',
  'Wei',
  'Aisha',
  'Carlos',
  'Olga',
  'Kwame',
  'Priya',
  'Liam',
  'Sofia',
  'Hiroshi',
  'Fatima',
  'Mateo',
  'Chloe',
  'Dmitri',
  'Amara',
  'Noah',
  'Leila',
  'Santiago',
  'Emma',
  'Jamal',
  'Ana',
  'Yusuf',
  'Grace',
  'Luca',
  'Mei',
  'Omar',
  'Isabella',
  'Tomasz',
  'Zara',
  'Ethan',
  'Nadia',
  'Diego',
  'Hannah',
  'Kofi',
  'Elena',
  'Raj',
  'Olivia',
  'Ivan',
  'Camila',
];
const LAST_NAMES = [
  'Smith',
  'Garcia',
  'Chen',
  'Okafor',
  'Rodriguez',
  'Ivanova',
  'Mensah',
  'Patel',
  'Murphy',
  'Rossi',
  'Tanaka',
  'Hassan',
  'Lopez',
  'Dubois',
  'Petrov',
  'Nwosu',
  'Johnson',
  'Haddad',
  'Martinez',
  'Muller',
  'Williams',
  'Silva',
  'Demir',
  'Kim',
  'Bianchi',
  'Wang',
  'Ali',
  'Fernandez',
  'Kowalski',
  'Khan',
  'Brown',
  'Popescu',
  'Reyes',
  'Cohen',
  'Boateng',
  'Novak',
  'Sharma',
  'Taylor',
  'Sokolov',
  'Torres',
];
// A realistic city mix: mostly economy, few vans.
const VEHICLE_WEIGHTS: Record<VehicleType, number> = { economy: 0.55, comfort: 0.25, xl: 0.13, van: 0.07 };

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function pickVehicle(random: () => number): VehicleType {
  let roll = random();
  for (const type of VEHICLE_TYPES) {
    roll -= VEHICLE_WEIGHTS[type];
    if (roll <= 0) return type;
  }
  return 'economy';
}

/** Ratings cluster high, as on real platforms: mostly 4.2–5.0, a thin tail down to 1.0. */
function pickRating(random: () => number): number {
  const skewed = 5 - Math.abs(random() + random() + random() - 1.5) * 1.2 - (random() < 0.03 ? random() * 3 : 0);
  return Math.round(Math.min(5, Math.max(1, skewed)) * 10) / 10;
}

/** Deterministic drivers spread uniformly over a disc around the centre. */
export function* generateFleet(options: FleetOptions): Generator<NewDriver> {
  const rng = createRng(options.seed);
  const random = rng.next;
  for (let i = 0; i < options.count; i++) {
    const position = randomPointInDisc(rng, options.center, options.radiusKm);
    const first = pick(random, FIRST_NAMES);
    const last = pick(random, LAST_NAMES);
    yield {
      name: `${first} ${last}`,
      phone: `+1-212-${String(200 + Math.floor(random() * 800))}-${String(Math.floor(random() * 10_000)).padStart(4, '0')}`,
      vehicleType: pickVehicle(random),
      rating: pickRating(random),
      totalRides: Math.floor(random() ** 2 * 5000),
      status: random() < options.onlineShare ? 'online' : 'offline',
      lat: position.lat,
      lng: position.lng,
    };
  }
}
