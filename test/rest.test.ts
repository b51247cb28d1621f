import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locationResponseSchema, nearbyResponseSchema } from '../src/protocol/rest.ts';
import { bruteForceNearby } from './support/brute-force.ts';
import { seedFleet, withDb } from './support/fleet.ts';
import { startTestHub, type TestHub } from './support/hub.ts';

let testHub: TestHub;
let ids: number[];

beforeAll(async () => {
  testHub = await startTestHub('rest');
  ids = await seedFleet(testHub, 500);
});
afterAll(() => testHub.close());

function post(path: string, body: string, contentType = 'application/json') {
  return fetch(testHub.httpUrl(path), { method: 'POST', headers: { 'content-type': contentType }, body });
}

describe('POST /api/drivers/:id/location', () => {
  it('commits the position and history row and returns the driver', async () => {
    const id = ids[0]!;
    const response = await post(`/api/drivers/${id}/location`, JSON.stringify({ lat: 40.7512, lng: -73.9876 }));
    expect(response.status).toBe(200);
    const body = locationResponseSchema.parse(await response.json());
    expect(body.success).toBe(true);
    expect(body.data).toMatchObject({ id, lat: 40.7512, lng: -73.9876 });
    await withDb(testHub.db.url, async (db) => {
      const { rows } = await db.query<{ lat: number; lng: number }>('SELECT lat, lng FROM drivers WHERE id = $1', [id]);
      expect(rows[0]).toEqual({ lat: 40.7512, lng: -73.9876 });
      const history = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM driver_locations WHERE driver_id = $1', [id]);
      expect(history.rows[0]?.n).toBe(1);
    });
  });

  it.each([
    ['lat out of range', '{"lat": 95, "lng": 0}'],
    ['a missing lng', '{"lat": 40}'],
    ['a string lat', '{"lat": "40", "lng": -73}'],
    ['invalid JSON', '{"lat": '],
  ])('answers 400 for %s', async (_name, body) => {
    const response = await post(`/api/drivers/${ids[1]}/location`, body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ success: false });
  });

  it('answers 404 for an unknown driver and 400 for a malformed id', async () => {
    expect((await post('/api/drivers/987654/location', '{"lat": 40, "lng": -73}')).status).toBe(404);
    expect((await post('/api/drivers/abc/location', '{"lat": 40, "lng": -73}')).status).toBe(400);
  });
});

describe('GET /api/drivers/nearby', () => {
  it('returns the ranked list with performance info', async () => {
    const response = await fetch(testHub.httpUrl('/api/drivers/nearby?lat=40.7589&lng=-73.9851&radius=3&limit=7'));
    expect(response.status).toBe(200);
    const body = nearbyResponseSchema.parse(await response.json());
    expect(body.success).toBe(true);
    expect(body.performance.method).toBe('redis');
    expect(body.performance.queryTime).toMatch(/^[0-9.]+ms$/);
    const expected = await bruteForceNearby(testHub, { lat: 40.7589, lng: -73.9851, radiusKm: 3, limit: 7 });
    expect(body.data.map((d) => d.id)).toEqual(expected.map((d) => d.id));
  });

  it.each([
    ['a missing lat', '/api/drivers/nearby?lng=-73.98'],
    ['a radius over the maximum', '/api/drivers/nearby?lat=40&lng=-73&radius=500'],
    ['a non-numeric limit', '/api/drivers/nearby?lat=40&lng=-73&limit=ten'],
  ])('answers 400 for %s', async (_name, path) => {
    expect((await fetch(testHub.httpUrl(path))).status).toBe(400);
  });

  it('says a radius is in km when it is out of range', async () => {
    const response = await fetch(testHub.httpUrl('/api/drivers/nearby?lat=40&lng=-73&radius=500'));
    expect(await response.json()).toMatchObject({ success: false, code: 'out_of_range', error: 'radius: must be at most 50 km' });
  });
});

describe('health endpoints', () => {
  it('healthz is 200 and readyz reports both stores', async () => {
    expect((await fetch(testHub.httpUrl('/healthz'))).status).toBe(200);
    const ready = await fetch(testHub.httpUrl('/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, postgres: 'up', geo: { kind: 'redis', state: 'up' } });
  });

  it('answers 404 for unknown paths and 405 for wrong methods', async () => {
    expect((await fetch(testHub.httpUrl('/nope'))).status).toBe(404);
    expect((await fetch(testHub.httpUrl('/api/drivers/nearby'), { method: 'DELETE' })).status).toBe(405);
  });
});
