import type { Logger } from '../logger.ts';
import { HubError } from '../protocol/errors.ts';
import {
  DRIVER_ID_PATTERN,
  MAX_DRIVER_ID,
  locationBodySchema,
  nearbyParamsSchema,
  TRACK_CURSOR_PATTERN,
  trackParamsSchema,
  type LocationResponse,
  type NearbyResponse,
  RIDE_ID_PATTERN,
  type RideResponse,
  type RestError,
  type TrackResponse,
} from '../protocol/rest.ts';
import { hubErrorFromZod } from '../protocol/zod-errors.ts';
import type { TrackCursor } from '../store/types.ts';
import { BodyTooLargeError, httpStatusFor, readBody, sendJson, sendText, watchAbort, type ResponseState } from './http-util.ts';
import type { IdentityResolver } from './identity.ts';
import type { HubServices } from './ports.ts';
import type { HttpResponse, TemplatedApp } from './uws.ts';

export interface StaticAsset {
  contentType: string;
  body: Buffer;
}

const MAX_BODY_BYTES = 4096;

function parseCursor(text: string | undefined): TrackCursor | undefined {
  const match = text === undefined ? null : TRACK_CURSOR_PATTERN.exec(text);
  return match ? { recordedAtUs: BigInt(match[1]!), seq: Number(match[2]) } : undefined;
}

/** `application/json`, optionally with parameters (`; charset=utf-8`); not `application/jsonp` or `application/json-seq`. */
function isJson(contentType: string): boolean {
  return contentType.split(';', 1)[0]!.trim().toLowerCase() === 'application/json';
}

function sendError(res: HttpResponse, state: ResponseState, error: HubError): void {
  const body: RestError = { success: false, error: error.message, code: error.code };
  sendJson(res, state, httpStatusFor(error.code), body);
}

/** Runs an async handler with abort tracking and one place that turns failures into JSON errors. */
function handle(logger: Logger, work: (res: HttpResponse, state: ResponseState) => Promise<void>) {
  return (res: HttpResponse, state: ResponseState) => {
    work(res, state).catch((error: unknown) => {
      if (error instanceof HubError) return sendError(res, state, error);
      if (error instanceof BodyTooLargeError) {
        return sendJson(res, state, '413 Payload Too Large', { success: false, error: error.message, code: 'out_of_range' });
      }
      logger.error({ err: error }, 'http handler failed');
      sendError(res, state, new HubError('internal', 'internal error'));
    });
  };
}

export function registerHttpRoutes(
  app: TemplatedApp,
  services: HubServices,
  identities: IdentityResolver,
  assets: ReadonlyMap<string, StaticAsset>,
  logger: Logger,
): void {
  app.post('/api/drivers/:id/location', (res, req) => {
    const rawId = req.getParameter(0) ?? '';
    const contentType = req.getHeader('content-type');
    const authorization = req.getHeader('authorization');
    const state = watchAbort(res);
    handle(logger, async () => {
      if (!DRIVER_ID_PATTERN.test(rawId) || Number(rawId) > MAX_DRIVER_ID) {
        throw new HubError('invalid_field', 'driver id must be a positive integer');
      }
      if (!isJson(contentType)) {
        throw new HubError('invalid_field', 'content-type must be application/json');
      }
      // The body reader must be attached before the first await: uWS drops body chunks that find no reader.
      const [, body] = await Promise.all([identities.authorizeDriverWrite(authorization, Number(rawId)), readBody(res, state, MAX_BODY_BYTES)]);
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        throw new HubError('bad_frame', 'body is not valid JSON');
      }
      const parsed = locationBodySchema.safeParse(json);
      if (!parsed.success) throw hubErrorFromZod(parsed.error, json, 'body', locationBodySchema);
      const driver = await services.ingest.writeNow(Number(rawId), parsed.data.lat, parsed.data.lng);
      if (!driver) throw new HubError('not_found', `driver ${rawId} not found`);
      const answer: LocationResponse = { success: true, data: driver };
      sendJson(res, state, '200 OK', answer);
    })(res, state);
  });

  app.get('/api/drivers/nearby', (res, req) => {
    const params = Object.fromEntries(new URLSearchParams(req.getQuery() ?? ''));
    const state = watchAbort(res);
    handle(logger, async () => {
      const parsed = nearbyParamsSchema.safeParse(params);
      if (!parsed.success) throw hubErrorFromZod(parsed.error, params, 'query', nearbyParamsSchema);
      const { radius, ...rest } = parsed.data;
      const answer = await services.nearby.find({ ...rest, radiusKm: radius });
      const body: NearbyResponse = {
        success: true,
        data: answer.drivers.map((driver) => ({ ...driver, distance: driver.distanceKm })),
        performance: { queryTime: `${answer.ms}ms`, method: answer.source },
      };
      sendJson(res, state, '200 OK', body);
    })(res, state);
  });

  // An operator read: a driver's recorded positions in a window of at most a day, a page at a time.
  app.get('/api/drivers/:id/track', (res, req) => {
    const rawId = req.getParameter(0) ?? '';
    const params = Object.fromEntries(new URLSearchParams(req.getQuery() ?? ''));
    const authorization = req.getHeader('authorization');
    const state = watchAbort(res);
    handle(logger, async () => {
      await identities.authorizeOperatorRead(authorization);
      if (!DRIVER_ID_PATTERN.test(rawId) || Number(rawId) > MAX_DRIVER_ID) {
        throw new HubError('invalid_field', 'driver id must be a positive integer');
      }
      const parsed = trackParamsSchema.safeParse(params);
      if (!parsed.success) throw hubErrorFromZod(parsed.error, params, 'query', trackParamsSchema);
      const { from, to, limit, after } = parsed.data;
      const page = await services.ops.driverTrack({ driverId: Number(rawId), fromMs: from, toMs: to, limit, after: parseCursor(after) });
      if (!page) throw new HubError('not_found', `driver ${rawId} not found`);
      const body: TrackResponse = {
        success: true,
        data: {
          driverId: Number(rawId),
          from: new Date(from).toISOString(),
          to: new Date(to).toISOString(),
          positions: page.points.map((point) => ({
            seq: point.seq,
            lat: point.lat,
            lng: point.lng,
            recordedAt: new Date(point.recordedAtMs).toISOString(),
            receivedAt: new Date(point.receivedAtMs).toISOString(),
          })),
          next: page.next ? `${page.next.recordedAtUs}-${page.next.seq}` : null,
        },
      };
      sendJson(res, state, '200 OK', body);
    })(res, state);
  });

  // An operator read: a ride and every offer made for it, to replay a dispute.
  app.get('/api/rides/:id', (res, req) => {
    const rawId = req.getParameter(0) ?? '';
    const authorization = req.getHeader('authorization');
    const state = watchAbort(res);
    handle(logger, async () => {
      await identities.authorizeOperatorRead(authorization);
      if (!RIDE_ID_PATTERN.test(rawId)) throw new HubError('invalid_field', 'ride id must be the UUID the hub gave in ride.requested');
      const found = await services.dispatch.rideWithOffers(rawId.toLowerCase());
      if (!found) throw new HubError('not_found', `ride ${rawId} not found`);
      const { ride, offers } = found;
      const body: RideResponse = {
        success: true,
        data: {
          id: ride.id,
          riderId: ride.riderId,
          driverId: ride.driverId,
          status: ride.status,
          pickup: ride.pickup,
          dropoff: ride.dropoff,
          vehicleType: ride.vehicleType,
          wave: ride.wave,
          requestedAt: ride.requestedAt,
          assignedAt: ride.assignedAt,
          arrivedAt: ride.arrivedAt,
          startedAt: ride.startedAt,
          completedAt: ride.completedAt,
          cancelledAt: ride.cancelledAt,
          unmatchedAt: ride.unmatchedAt,
          cancelledBy: ride.cancelledBy,
          cancelReason: ride.cancelReason,
          offers: offers.map(({ driverId, wave, distanceKm, sentAt, expiresAt, answer, answeredAt }) => ({
            driverId,
            wave,
            distanceKm,
            sentAt,
            expiresAt,
            answer,
            answeredAt,
          })),
        },
      };
      sendJson(res, state, '200 OK', body);
    })(res, state);
  });

  // The pid tells which process answered when several hub workers share the port (HUB_WORKERS).
  app.get('/healthz', (res) => sendJson(res, { aborted: false }, '200 OK', { status: 'ok', pid: process.pid }));

  app.get('/readyz', (res) => {
    const state = watchAbort(res);
    handle(logger, async () => {
      const report = await services.ops.readiness();
      sendJson(res, state, report.ready ? '200 OK' : '503 Service Unavailable', report);
    })(res, state);
  });

  app.get('/metrics', (res) => {
    const state = watchAbort(res);
    handle(logger, async () => {
      sendText(res, state, '200 OK', services.ops.metricsContentType, await services.ops.metricsText());
    })(res, state);
  });

  app.get('/api/stats', (res) => {
    sendJson(res, { aborted: false }, '200 OK', services.ops.stats());
  });

  for (const [path, asset] of assets) {
    app.get(path, (res) => sendText(res, { aborted: false }, '200 OK', asset.contentType, asset.body, { 'cache-control': 'no-cache' }));
  }

  const knownPaths = new Set(['/api/drivers/nearby', '/healthz', '/readyz', '/metrics', '/api/stats', ...assets.keys()]);
  app.any('/*', (res, req) => {
    const url = req.getUrl();
    const known = knownPaths.has(url) || /^\/api\/drivers\/[^/]+\/(?:location|track)$/.test(url) || /^\/api\/rides\/[^/]+$/.test(url);
    const state = { aborted: false };
    const status = known ? '405 Method Not Allowed' : '404 Not Found';
    // A HEAD answer has no body: one would corrupt the next response on a kept-alive connection.
    if (req.getMethod() === 'head') res.cork(() => res.writeStatus(status).endWithoutBody());
    else if (known) sendJson(res, state, status, { success: false, error: `${req.getCaseSensitiveMethod()} not allowed on ${url}`, code: 'invalid_field' });
    else sendJson(res, state, status, { success: false, error: 'not found', code: 'not_found' });
  });
}
