/** Protocol-level bounds. They are part of the wire contract, so they live here and not in config. */
export const NEARBY_DEFAULT_RADIUS_KM = 5;
export const NEARBY_MAX_RADIUS_KM = 50;
export const NEARBY_DEFAULT_LIMIT = 10;
export const NEARBY_MAX_LIMIT = 100;
