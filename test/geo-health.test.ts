import { expect, it } from 'vitest';
import { DeadlineExceededError } from '../src/deadline.ts';
import { createLogger } from '../src/logger.ts';
import { GeoHealth, TIMEOUTS_BEFORE_DOWN } from '../src/geo/geo-health.ts';

function health(): GeoHealth {
  // The probe never succeeds here: these tests are about when reads leave the index, not when they return.
  return new GeoHealth({
    probeIntervalMs: 60_000,
    probe: () => Promise.reject(new Error('unreachable')),
    repair: async () => undefined,
    logger: createLogger('silent'),
  });
}

const timeout = () => new DeadlineExceededError('redis search', 250);

it('keeps reads on the index through sporadic timeouts, and leaves it after a run of them', () => {
  const geo = health();
  for (let i = 1; i < TIMEOUTS_BEFORE_DOWN; i++) geo.reportFailure(timeout(), 'search');
  expect(geo.state).toBe('up');
  geo.reportSuccess();
  for (let i = 1; i < TIMEOUTS_BEFORE_DOWN; i++) geo.reportFailure(timeout(), 'search');
  expect(geo.state).toBe('up');
  geo.reportFailure(timeout(), 'search');
  expect(geo.state).toBe('down');
  geo.stop();
});

it('leaves the index at the first failure that is not a timeout', () => {
  const geo = health();
  geo.reportFailure(new Error('connection closed'), 'search');
  expect(geo.state).toBe('down');
  geo.stop();
});
