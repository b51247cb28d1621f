/** Weight of the newest answer in the running estimate. */
const LEARNING_RATE = 0.05;
/** First searches reach this much past the typical distance of the limit-th driver: most answers then need one round trip. */
const MARGIN = 2;
/**
 * Never start below this: answers whose limit-th driver stood exactly at the
 * query point (drivers parked at one spot) teach a distance of zero, and a
 * zero radius would never widen.
 */
const MIN_FIRST_KM = 0.05;

/**
 * Where to start searching. Redis's GEOSEARCH examines every member in the
 * geohash cells around the circle, so its cost grows with the circle's area
 * times the fleet's density: at 10,000 drivers over a city, a 2 km search
 * looks at a few thousand members to return ten. Most answers lie much
 * closer than the radius the rider allows, so the first search covers only
 * about twice the distance at which `limit` drivers are usually found, and
 * widens when that is not enough.
 *
 * The estimate assumes drivers are spread evenly, so the distance to the
 * k-th nearest grows with √k; it is a running average over recent answers.
 */
export class SearchRadius {
  /** Typical distance of the k-th nearest driver divided by √k; undefined until an answer has been seen. */
  private kmPerRootK: number | undefined;

  /** The radius of the first search for a query asking for `limit` drivers within `maxKm`. */
  first(limit: number, maxKm: number): number {
    if (this.kmPerRootK === undefined) return maxKm;
    return Math.min(maxKm, Math.max(MIN_FIRST_KM, MARGIN * this.kmPerRootK * Math.sqrt(limit)));
  }

  /** Records that the `limit`-th nearest driver of an answer was `kthKm` away. */
  learn(limit: number, kthKm: number): void {
    const sample = kthKm / Math.sqrt(limit);
    this.kmPerRootK = this.kmPerRootK === undefined ? sample : this.kmPerRootK + LEARNING_RATE * (sample - this.kmPerRootK);
  }
}
