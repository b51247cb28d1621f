// Shared pieces of the k6 load tests: configuration, URLs, frames, the
// ranking check and the metrics every scenario reports into.
// Stock k6 has no msgpack, so every frame here is a JSON text frame; the hub
// answers in the encoding of the frame it replies to.
import { hmac } from 'k6/crypto';
import { b64encode } from 'k6/encoding';
import { Counter, Rate, Trend } from 'k6/metrics';

// The wire types are the protocol's own (src/protocol), checked by `npm run typecheck:k6`;
// k6 runs this file as plain JavaScript, so only the types cross over.
/**
 * @typedef {import('../src/protocol/messages.ts').LocationFrame} LocFrame
 * @typedef {import('../src/protocol/messages.ts').StatusFrame} StatusFrame
 * @typedef {import('../src/protocol/messages.ts').NearbyQuery} NearbyQuery
 * @typedef {import('../src/protocol/messages.ts').NearbyDriver} NearbyDriver
 * @typedef {import('../src/protocol/messages.ts').HelloMessage} HelloMessage
 * @typedef {import('../src/protocol/messages.ts').AckMessage} AckMessage
 * @typedef {import('../src/protocol/messages.ts').NearbyResultMessage} NearbyResultMessage
 * @typedef {import('../src/protocol/messages.ts').ErrorMessage} ErrorMessage
 * @typedef {import('../src/protocol/messages.ts').ServerMessage} ServerMessage
 * @typedef {import('../src/domain/geo.ts').LatLng} LatLng
 */

/**
 * Parses "500ms", "30s", "2m", "1h" and combinations such as "1m30s", the
 * forms k6 itself accepts, so DURATION can be passed to scenarios as is.
 * The runtime twin of clients/lib/duration.ts (k6 cannot load TypeScript).
 * @param {string} text
 * @returns {number} milliseconds
 */
export function parseDuration(text) {
  const units = /** @type {Record<string, number>} */ ({ ms: 1, s: 1000, m: 60000, h: 3600000 });
  const parts = text.trim().match(/\d+(?:\.\d+)?(?:ms|s|m|h)/g);
  if (!parts || parts.join('') !== text.trim()) throw new Error(`DURATION: not a duration: "${text}"`);
  return parts.reduce((total, part) => {
    const [, value = '0', unit = 's'] = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(part) ?? [];
    return total + Number(value) * (units[unit] ?? 0);
  }, 0);
}

/**
 * @param {string} name
 * @param {number} fallback
 */
function envNumber(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

export const config = {
  hubUrl: (__ENV.HUB_URL || 'ws://localhost:8080').replace(/\/+$/, ''),
  drivers: envNumber('DRIVERS', 100),
  riders: envNumber('RIDERS', 10),
  /** Frames per second per driver, and queries per second per rider. */
  rate: envNumber('RATE', 1),
  duration: __ENV.DURATION || '30s',
  durationMs: parseDuration(__ENV.DURATION || '30s'),
  /** One token for every connection: fine for riders, or for a single driver. */
  token: __ENV.TOKEN || '',
  /** The hub's AUTH_SECRET: each connection then signs its own token, as each driver's must name its id. */
  authSecret: __ENV.AUTH_SECRET || '',
  firstDriverId: envNumber('FIRST_DRIVER_ID', 1),
};

/**
 * A scenario in which each VU plays one client for the whole test. The
 * sessions stop themselves at DURATION; maxDuration is only the safety net
 * for a hub that never lets a socket close.
 * @param {number} vus
 * @param {string} exec
 * @returns {import('k6/options').Scenario}
 */
export function sessionScenario(vus, exec) {
  return { executor: 'per-vu-iterations', vus, iterations: 1, maxDuration: `${Math.ceil(config.durationMs / 1000) + 60}s`, exec };
}

export const ackLatency = new Trend('ack_latency', true);
export const nearbyLatency = new Trend('nearby_latency', true);
/** Every ack, answer, error frame, timeout and failed connection adds one sample. */
export const errorRate = new Rate('errors');
export const rankingViolations = new Counter('ranking_violations');
export const framesSent = new Counter('loc_frames_sent');
export const framesAcked = new Counter('loc_frames_acked');

/**
 * One sample per frame or query the generator owed: true when it did not
 * send it within one interval of its due time. That is k6 itself falling
 * behind (CPU, event loop), and every latency it measures meanwhile includes
 * its own backlog: the run fails as "generator overloaded" rather than
 * report that as the hub's latency.
 */
export const generatorOverloaded = new Rate('generator_overloaded');
/** How late each send fired against its schedule: k6's own lag, for reading next to the latencies. */
export const generatorLag = new Trend('generator_lag', true);
/** Delivered below 95% of the offered rate fails the run, and stops it early: nothing it measures after that is the hub's. */
export const generatorThreshold = { threshold: 'rate<0.05', abortOnFail: true, delayAbortEval: '15s' };

/**
 * The offered rate of one connection: one send every `intervalMs` from now.
 * Call `sent()` as each send goes out; slots that passed by more than an
 * interval without one count as overload, so the delivered rate is checked
 * against the offered rate continuously, not just on average at the end.
 * @param {number} intervalMs
 */
export function createSchedule(intervalMs) {
  const startedAt = Date.now();
  /** Slots settled so far: sent or counted as missed. */
  let settled = 0;
  return {
    sent() {
      const now = Date.now();
      const overdue = Math.floor((now - startedAt) / intervalMs) - 1;
      for (; settled < overdue; settled++) generatorOverloaded.add(true);
      settled += 1;
      generatorOverloaded.add(false);
      generatorLag.add(Math.max(0, now - (startedAt + settled * intervalMs)));
    },
  };
}

/**
 * An HS256 JWT as the hub verifies it ({role, sub, iat, exp}), built from
 * k6's own HMAC because stock k6 has no JWT library.
 * @param {'driver' | 'rider'} role
 * @param {string} subject
 * @param {string} secret
 */
export function signToken(role, subject, secret) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), 'rawurl');
  const claims = b64encode(JSON.stringify({ role, sub: subject, iat: now, exp: now + 3600 }), 'rawurl');
  const signature = b64encode(hmac('sha256', secret, `${header}.${claims}`, 'binary'), 'rawurl');
  return `${header}.${claims}.${signature}`;
}

/**
 * @param {'driver' | 'rider'} role
 * @param {Record<string, string | number>} params
 * @param {string} subject the driver id, or a rider name
 */
export function socketUrl(role, params, subject) {
  const query = Object.entries(params).map(([name, value]) => `${name}=${encodeURIComponent(String(value))}`);
  const token = config.authSecret ? signToken(role, subject, config.authSecret) : config.token;
  if (token) query.push(`token=${encodeURIComponent(token)}`);
  return `${config.hubUrl}/ws/${role}${query.length > 0 ? `?${query.join('&')}` : ''}`;
}

/** Times Square, where the hub's seed data puts its drivers. */
export const CENTRE = { lat: 40.7589, lng: -73.9851 };
/** src/domain/geo.ts KM_PER_DEGREE_LAT, rounded: k6 cannot load TypeScript. */
const KM_PER_DEGREE_LAT = 111.226;

/**
 * A uniformly random point within `radiusKm` of the centre.
 * @param {number} radiusKm
 * @returns {LatLng}
 */
export function randomPosition(radiusKm) {
  const distanceKm = radiusKm * Math.sqrt(Math.random());
  const bearing = Math.random() * 2 * Math.PI;
  return offset(CENTRE, distanceKm * Math.cos(bearing), distanceKm * Math.sin(bearing));
}

/**
 * @param {LatLng} from
 * @param {number} northKm
 * @param {number} eastKm
 * @returns {LatLng}
 */
function offset(from, northKm, eastKm) {
  return {
    lat: from.lat + northKm / KM_PER_DEGREE_LAT,
    lng: from.lng + eastKm / (KM_PER_DEGREE_LAT * Math.cos((from.lat * Math.PI) / 180)),
  };
}

/**
 * A car wandering at city speed, turning now and then and kept within
 * `radiusKm` of the centre. The detailed street-grid model lives in clients/sim;
 * a load test only needs plausible, moving positions.
 * @param {number} radiusKm
 */
export function createWalker(radiusKm) {
  let position = randomPosition(radiusKm);
  let headingDeg = Math.random() * 360;
  let speedKmh = 15 + Math.random() * 35;
  return {
    /**
     * @param {number} dtS
     * @returns {LatLng & { headingDeg: number, speedKmh: number }}
     */
    step(dtS) {
      if (Math.random() < 0.1) headingDeg = (headingDeg + (Math.random() < 0.5 ? 90 : 270)) % 360;
      if (Math.random() < 0.1) speedKmh = 15 + Math.random() * 35;
      const km = (speedKmh * dtS) / 3600;
      const rad = (headingDeg * Math.PI) / 180;
      const next = offset(position, km * Math.cos(rad), km * Math.sin(rad));
      const fromCentreKm = Math.hypot(
        (next.lat - CENTRE.lat) * KM_PER_DEGREE_LAT,
        (next.lng - CENTRE.lng) * KM_PER_DEGREE_LAT * Math.cos((CENTRE.lat * Math.PI) / 180),
      );
      if (fromCentreKm > radiusKm) {
        headingDeg = (headingDeg + 180) % 360;
      } else {
        position = next;
      }
      return { ...position, headingDeg, speedKmh };
    },
  };
}

/**
 * @param {number} seq
 * @param {LatLng & { headingDeg: number, speedKmh: number }} fix
 * @returns {LocFrame}
 */
export function locFrame(seq, fix) {
  // speed in m/s, as the W3C Geolocation API reports it.
  return { t: 'loc', seq, lat: fix.lat, lng: fix.lng, ts: Date.now(), heading: fix.headingDeg, speed: fix.speedKmh / 3.6, accuracy: 5 };
}

/**
 * @param {'online' | 'offline'} status
 * @returns {StatusFrame}
 */
export function statusFrame(status) {
  return { t: 'status', status };
}

/**
 * @param {number} id
 * @param {LatLng} at
 * @returns {NearbyQuery}
 */
export function nearbyQuery(id, at) {
  const radii = [1, 2, 3, 5];
  const limits = [5, 10, 20];
  return {
    t: 'nearby',
    id,
    lat: at.lat,
    lng: at.lng,
    radiusKm: radii[Math.floor(Math.random() * radii.length)] ?? 5,
    limit: limits[Math.floor(Math.random() * limits.length)] ?? 10,
  };
}

/**
 * Decodes a hub text frame; undefined for anything that is not a message.
 * k6 cannot run the protocol's zod schemas (decodeServerMessage), so this
 * only checks the shape the scripts branch on; the types are the protocol's.
 * @param {string} text
 * @returns {ServerMessage | undefined}
 */
export function parseMessage(text) {
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    // Counted by the caller as an error sample; the value itself is useless.
    return undefined;
  }
  return message !== null && typeof message === 'object' && typeof message.t === 'string' ? message : undefined;
}

/**
 * The protocol's ranking order (src/protocol/ranking.ts compareRanked), copied
 * because k6 cannot load TypeScript: distance ascending, equal distances by
 * rating highest first, then by id.
 * @param {NearbyDriver} a
 * @param {NearbyDriver} b
 */
export function compareRanked(a, b) {
  return a.distanceKm - b.distanceKm || b.rating - a.rating || a.id - b.id;
}

/**
 * Ways an answer breaks its ranking contract: one per neighbouring pair out
 * of order (compareRanked), plus one when it holds more drivers than the
 * query's limit.
 * @param {NearbyDriver[]} drivers
 * @param {NearbyQuery} query
 */
export function countRankingViolations(drivers, query) {
  let violations = drivers.length > query.limit ? 1 : 0;
  for (let i = 1; i < drivers.length; i++) {
    if (compareRanked(/** @type {NearbyDriver} */ (drivers[i - 1]), /** @type {NearbyDriver} */ (drivers[i])) > 0) violations += 1;
  }
  return violations;
}

/**
 * Exponential backoff with jitter between reconnects, in seconds for sleep():
 * clients/lib/backoff.ts's equal jitter with its defaults (500 ms doubling to 30 s).
 * @param {number} attempt
 */
export function backoffSeconds(attempt) {
  const windowS = Math.min(30, 0.5 * 2 ** attempt);
  return windowS / 2 + (Math.random() * windowS) / 2;
}
