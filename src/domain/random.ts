/**
 * The one seeded PRNG of the seed data, the simulator, the test clients and
 * the benchmark. Math.random cannot be seeded, and a fleet or a run must be
 * repeatable from its seed so a movement bug or a ranking violation can be
 * replayed exactly, and the same on every machine.
 */
// Function properties, not methods: they close over the state and use no `this`, so `const random = rng.next` is safe.
export interface Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;
  /** Uniform in [min, max). */
  readonly range: (min: number, max: number) => number;
  /** Uniform integer in [min, max]. */
  readonly int: (min: number, max: number) => number;
  readonly chance: (probability: number) => boolean;
  readonly pick: <T>(items: readonly T[]) => T;
}

/** mulberry32: 32 bits of state, fast, and good enough for traffic, not for crypto. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    range: (min, max) => min + (max - min) * next(),
    int: (min, max) => min + Math.floor((max - min + 1) * next()),
    chance: (probability) => next() < probability,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(items.length * next())]!;
    },
  };
}

/**
 * Derives an independent 32-bit seed per actor from the run seed, so driver
 * 17 moves the same way whether 20 or 20,000 drivers run beside it.
 */
export function deriveSeed(seed: string | number, ...parts: Array<string | number>): number {
  // FNV-1a over the joined text, then a murmur3 finaliser to spread nearby inputs apart.
  let hash = 0x811c9dc5;
  for (const char of [seed, ...parts].join('\u0000')) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}
