/** Protocol-level bounds. They are part of the wire contract, so they live here and not in config. */
export const NEARBY_DEFAULT_RADIUS_KM = 5;
export const NEARBY_MAX_RADIUS_KM = 50;
export const NEARBY_DEFAULT_LIMIT = 10;
export const NEARBY_MAX_LIMIT = 100;
/** GET /api/drivers/:id/track: the widest window one request may ask for, and its page size. */
export const TRACK_MAX_WINDOW_MS = 24 * 60 * 60 * 1000;
export const TRACK_DEFAULT_LIMIT = 1000;
export const TRACK_MAX_LIMIT = 5000;
