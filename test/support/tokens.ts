import WebSocket from 'ws';
import { signToken } from '../../src/auth/tokens.ts';
import { restErrorSchema, type RestError } from '../../src/protocol/rest.ts';

/** Secrets for hubs started with auth on; never used outside tests. */
export const TEST_AUTH_SECRET = 'test-secret-for-dispatch-hub-tests-0123456789';
export const TEST_PREVIOUS_SECRET = 'previous-test-secret-for-dispatch-hub-tests-01';

/** The environment that turns auth on, with a previous secret still accepted. */
export const AUTH_ENV = { AUTH_SECRET: TEST_AUTH_SECRET, AUTH_PREVIOUS_SECRET: TEST_PREVIOUS_SECRET };

export function driverToken(driverId: number, ttl: string | number = '1h', secret = TEST_AUTH_SECRET): Promise<string> {
  return signToken({ role: 'driver', subject: driverId, ttl, secret });
}

export function riderToken(riderId: string, ttl: string | number = '1h', secret = TEST_AUTH_SECRET): Promise<string> {
  return signToken({ role: 'rider', subject: riderId, ttl, secret });
}

export interface UpgradeRefusal {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: RestError;
}

/** Attempts an upgrade that is expected to be refused, and returns the HTTP answer. */
export function refusedUpgrade(url: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<UpgradeRefusal> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options.protocols ?? [], { headers: options.headers });
    socket.once('open', () => {
      socket.close();
      reject(new Error(`upgrade to ${url} was accepted`));
    });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: restErrorSchema.parse(JSON.parse(text)) });
        } catch (error) {
          reject(error);
        }
      });
    });
    socket.once('error', (error) => reject(error));
  });
}
