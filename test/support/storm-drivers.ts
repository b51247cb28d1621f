/**
 * A process of drivers that all connect at once: one share of a reconnect
 * storm. Forked by test/reconnect-storm.test.ts, so that 10,000 sockets are
 * spread over several processes, each under the 20,000-file limit. Tokens
 * are signed before the start signal, so the storm itself is only sockets.
 *
 * IPC: receives {host, port, firstId, count, secret}, answers {type:'ready'};
 * on {type:'go'} opens every socket, and answers {type:'done', ...} once each
 * driver has its hello (or gave up).
 */
import { signToken } from '../../src/auth/tokens.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';
import { WireSocket } from '../../clients/core/wire-socket.ts';

export interface StormShare {
  host: string;
  port: number;
  firstId: number;
  count: number;
  secret: string;
}

export interface StormResult {
  type: 'done';
  /** hello.lastSeq by driver id, for every driver that got its hello. */
  resumed: Record<number, number>;
  /** Why sockets ended before or right after their hello, by reason (each was retried). */
  closes: Record<string, number>;
  /** From the start signal to the last hello, in ms. */
  tookMs: number;
}

/** uWS 20.30 sometimes shuts a socket it just upgraded asynchronously (see steady-connect.ts): such a driver reconnects, as a real app would. */
const ATTEMPTS = 4;

let share: StormShare;
const tokens: string[] = [];
const sockets: WireSocket[] = [];

process.on('message', (message: StormShare | { type: 'go' } | { type: 'close' }) => {
  if ('firstId' in message) {
    share = message;
    void prepare();
  } else if (message.type === 'go') {
    storm();
  } else {
    for (const socket of sockets) socket.close();
    process.exit(0);
  }
});

async function prepare(): Promise<void> {
  for (let index = 0; index < share.count; index++) {
    tokens.push(await signToken({ role: 'driver', subject: share.firstId + index, ttl: '1h', secret: share.secret }));
  }
  process.send!({ type: 'ready' });
}

function storm(): void {
  const started = performance.now();
  const resumed: Record<number, number> = {};
  const closes: Record<string, number> = {};
  let pending = share.count;
  const finishOne = () => {
    if (--pending === 0) process.send!({ type: 'done', resumed, closes, tookMs: Math.round(performance.now() - started) } satisfies StormResult);
  };
  const open = (index: number, attempt: number) => {
    const driverId = share.firstId + index;
    let settled = false;
    sockets[index] = new WireSocket(share.host, share.port, `/ws/driver?id=${driverId}&encoding=msgpack&token=${tokens[index]}`, {
      onOpen: () => undefined,
      onMessage: (payload) => {
        const message = decodeServerMessage(new Uint8Array(payload));
        if (message.t !== 'hello' || settled) return;
        settled = true;
        resumed[driverId] = message.lastSeq;
        finishOne();
      },
      onClose: (reason) => {
        if (settled && resumed[driverId] !== undefined) return;
        closes[reason.slice(0, 60)] = (closes[reason.slice(0, 60)] ?? 0) + 1;
        if (attempt < ATTEMPTS) open(index, attempt + 1);
        else if (!settled) {
          settled = true;
          finishOne();
        }
      },
    });
  };
  for (let index = 0; index < share.count; index++) open(index, 1);
}

process.send!({ type: 'up' });
