import type { Rng } from '../../src/domain/random.ts';
import type { Direction, GridNode, LatLng, StreetGrid } from './street-grid.ts';

export interface MovementOptions {
  /** Cruise speed range on avenues (km/h): wide, long green waves. */
  avenueSpeedKmh: readonly [number, number];
  /** Cruise speed range on cross streets (km/h): narrow, parked cars, pedestrians. */
  streetSpeedKmh: readonly [number, number];
  /** Chance of carrying straight on at an intersection; the rest splits evenly between left and right. */
  straightProbability: number;
  /** Chance of meeting a red light at an intersection. */
  redLightProbability: number;
  redLightPauseS: readonly [number, number];
  /** Chance of stopping at an intersection for a pick-up, drop-off or double-parked truck. */
  stopProbability: number;
  stopPauseS: readonly [number, number];
}

export const DEFAULT_MOVEMENT: MovementOptions = {
  avenueSpeedKmh: [20, 50],
  streetSpeedKmh: [15, 35],
  straightProbability: 0.7,
  redLightProbability: 0.3,
  redLightPauseS: [5, 45],
  stopProbability: 0.02,
  stopPauseS: [20, 90],
};

export interface VehicleState {
  lat: number;
  lng: number;
  /** Local grid metres, for checks that need the geometry rather than the map. */
  x: number;
  y: number;
  /** Compass bearing of travel, degrees clockwise from north. */
  headingDeg: number;
  /** 0 while paused. */
  speedKmh: number;
  paused: boolean;
}

const KMH_TO_MPS = 1 / 3.6;

/**
 * One vehicle driving the grid block by block. It only ever sits on a street
 * segment or at an intersection, moves at a cruise speed drawn per road, and
 * makes every decision at intersections, so its path is fully determined by
 * the rng it is given.
 */
export class Vehicle {
  private node: GridNode;
  private direction: Direction;
  private offsetM: number;
  private speedMps: number;
  private pauseLeftS = 0;
  /** The intersection the vehicle is driving to; undefined while it roams. */
  private target: GridNode | undefined;
  private parked = false;

  constructor(
    private readonly grid: StreetGrid,
    private readonly rng: Rng,
    private readonly options: MovementOptions = DEFAULT_MOVEMENT,
  ) {
    this.node = grid.randomNode(rng);
    this.direction = rng.pick(this.exits());
    this.offsetM = rng.range(0, grid.blockLengthM(this.direction));
    this.speedMps = this.cruiseSpeedMps();
  }

  /**
   * Drives to the intersection nearest `place` from the next intersection on,
   * block by block the shorter way, and parks there; null roams again.
   */
  routeTo(place: LatLng | null): void {
    this.target = place === null ? undefined : this.grid.nearestNode(place);
    const here = this.target && this.target.i === this.node.i && this.target.j === this.node.j;
    if (this.parked && !here) {
      // Pulling away from where it waited.
      this.parked = false;
      this.direction = this.target ? this.directionToward(this.target) : this.rng.pick(this.exits());
      this.speedMps = this.cruiseSpeedMps();
    }
  }

  /** True once a routed vehicle has reached its target intersection (it waits there). */
  get atTarget(): boolean {
    return this.parked;
  }

  /** Advances the vehicle by `dtS` seconds of simulated time. */
  step(dtS: number): void {
    let remainingS = dtS;
    while (remainingS > 0 && !this.parked) {
      if (this.pauseLeftS > 0) {
        const waitedS = Math.min(this.pauseLeftS, remainingS);
        this.pauseLeftS -= waitedS;
        remainingS -= waitedS;
        continue;
      }
      const toEndM = this.grid.blockLengthM(this.direction) - this.offsetM;
      const toEndS = toEndM / this.speedMps;
      if (toEndS > remainingS) {
        this.offsetM += this.speedMps * remainingS;
        return;
      }
      remainingS -= toEndS;
      this.arrive();
    }
  }

  state(): VehicleState {
    const point = this.grid.pointAlong(this.node, this.direction, this.offsetM);
    const { lat, lng } = this.grid.toLatLng(point);
    const paused = this.pauseLeftS > 0 || this.parked;
    return {
      lat,
      lng,
      x: point.x,
      y: point.y,
      headingDeg: this.grid.headingDeg(this.direction),
      speedKmh: paused ? 0 : this.speedMps / KMH_TO_MPS,
      paused,
    };
  }

  private arrive(): void {
    this.node = this.grid.neighbour(this.node, this.direction) ?? this.node;
    this.offsetM = 0;
    if (this.target && this.target.i === this.node.i && this.target.j === this.node.j) {
      this.parked = true;
      this.pauseLeftS = 0;
      return;
    }
    const previous = this.direction;
    this.direction = this.target ? this.directionToward(this.target) : this.chooseDirection();
    const { redLightProbability, redLightPauseS, stopProbability, stopPauseS } = this.options;
    if (this.rng.chance(redLightProbability)) {
      this.pauseLeftS = this.rng.range(redLightPauseS[0], redLightPauseS[1]);
    } else if (this.rng.chance(stopProbability)) {
      this.pauseLeftS = this.rng.range(stopPauseS[0], stopPauseS[1]);
    }
    // A turn or a standstill means pulling away at whatever pace the new road allows;
    // going straight through a green keeps roughly the same pace.
    if (this.direction !== previous || this.pauseLeftS > 0) {
      this.speedMps = this.cruiseSpeedMps();
    } else {
      const [min, max] = this.speedRangeKmh(this.direction);
      const kmh = (this.speedMps / KMH_TO_MPS) * this.rng.range(0.9, 1.1);
      this.speedMps = Math.min(max, Math.max(min, kmh)) * KMH_TO_MPS;
    }
  }

  private chooseDirection(): Direction {
    const straight = this.direction;
    const left = ((straight + 3) % 4) as Direction;
    const right = ((straight + 1) % 4) as Direction;
    const canGo = (direction: Direction) => this.grid.neighbour(this.node, direction) !== undefined;
    const roll = this.rng.next();
    const { straightProbability } = this.options;
    const preferred = roll < straightProbability ? straight : roll < (1 + straightProbability) / 2 ? left : right;
    if (canGo(preferred)) return preferred;
    const open = [straight, left, right].filter(canGo);
    // Only a dead end forces a U-turn: at the grid's edge, like a driver reaching the river.
    return open.length > 0 ? this.rng.pick(open) : (((straight + 2) % 4) as Direction);
  }

  /**
   * A turn that brings the target closer, picked with odds in proportion to
   * the distance left along each axis, so routes zigzag like a driver's do.
   */
  private directionToward(target: GridNode): Direction {
    const di = target.i - this.node.i;
    const dj = target.j - this.node.j;
    const acrossM = Math.abs(di) * this.grid.blockLengthM(1);
    const alongM = Math.abs(dj) * this.grid.blockLengthM(0);
    if (acrossM + alongM === 0) return this.direction;
    const across: Direction = di > 0 ? 1 : 3;
    const along: Direction = dj > 0 ? 0 : 2;
    return this.rng.next() * (acrossM + alongM) < acrossM ? across : along;
  }

  private exits(): Direction[] {
    return ([0, 1, 2, 3] as const).filter((direction) => this.grid.neighbour(this.node, direction) !== undefined);
  }

  private speedRangeKmh(direction: Direction): readonly [number, number] {
    return direction % 2 === 0 ? this.options.avenueSpeedKmh : this.options.streetSpeedKmh;
  }

  private cruiseSpeedMps(): number {
    const [min, max] = this.speedRangeKmh(this.direction);
    return this.rng.range(min, max) * KMH_TO_MPS;
  }
}
