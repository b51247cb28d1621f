import { describe, expect, it } from 'vitest';
import { DriverSession, type DriverSessionEvents } from '../clients/core/driver-session.ts';
import { RiderSession } from '../clients/core/rider-session.ts';
import { SubscriptionSession } from '../clients/core/subscription-session.ts';
import type { NearbyUpdateMessage } from '../src/protocol/messages.ts';

/** A driver session whose events are tallied, with frames that are just their seq. */
function driver(options: { capacity?: number; maxInFlight?: number; firstSeq?: number } = {}) {
  const tally = { acked: [] as Array<number | undefined>, resumed: [] as number[], dropped: [] as number[], sent: [] as number[], resent: [] as number[] };
  const events: DriverSessionEvents = {
    acked: (_seq, sentAt, now) => tally.acked.push(sentAt === undefined ? undefined : now - sentAt),
    resumed: (seq) => tally.resumed.push(seq),
    dropped: (seq) => tally.dropped.push(seq),
    sent: (seq, resend) => (resend ? tally.resent : tally.sent).push(seq),
  };
  const session = new DriverSession<number>({
    capacity: options.capacity ?? 100,
    maxInFlight: options.maxInFlight ?? Infinity,
    firstSeq: options.firstSeq,
    events,
  });
  /** Flushes at `now`, returning the seqs written. */
  const flush = (now = 0) => {
    const written: number[] = [];
    session.flush((seq) => (written.push(seq), true), now);
    return written;
  };
  const push = (count: number) => Array.from({ length: count }, () => session.push((seq) => seq));
  return { session, tally, flush, push };
}

describe('driver session', () => {
  it('waits for the first hello before numbering, then continues above its lastSeq', () => {
    const { session, push, flush } = driver();
    expect(push(1)).toEqual([undefined]);
    session.hello(41);
    expect(push(3)).toEqual([42, 43, 44]);
    expect(flush()).toEqual([42, 43, 44]);
  });

  it('numbers from firstSeq before any hello, and resends above the hello after a reconnect', () => {
    const { session, tally, push, flush } = driver({ firstSeq: 1 });
    expect(push(5)).toEqual([1, 2, 3, 4, 5]);
    expect(flush()).toEqual([]);
    session.hello(0);
    expect(flush()).toEqual([1, 2, 3, 4, 5]);
    session.ack(2, 10);
    session.closed();
    push(1);
    // The hub committed 4 but its ack never arrived; the next hello says so.
    session.hello(4);
    expect(tally.resumed).toEqual([3, 4]);
    expect(flush()).toEqual([5, 6]);
    expect(tally.resent).toEqual([5]);
    expect(session.lastAcked).toBe(4);
  });

  it('drops the oldest frames beyond its capacity', () => {
    const { session, tally, push } = driver({ capacity: 3 });
    session.hello(0);
    push(5);
    expect(session.size).toBe(3);
    expect(tally.dropped).toEqual([1, 2]);
    session.closed();
    session.hello(4);
    expect(session.size).toBe(1);
    expect(tally.resumed).toEqual([3, 4]);
  });

  it('times every frame an ack covers from its latest send, and resends only after a drop or refusal', () => {
    const { session, tally, push, flush } = driver();
    session.hello(0);
    push(4);
    expect(flush(100)).toEqual([1, 2, 3, 4]);
    expect(flush(100)).toEqual([]);
    session.ack(3, 110);
    expect(tally.acked).toEqual([10, 10, 10]);
    session.refused();
    expect(flush(200)).toEqual([4]);
    expect(tally.resent).toEqual([4]);
    session.ack(4, 205);
    expect(tally.acked.at(-1)).toBe(5);
    expect(session.size).toBe(0);
  });

  it('reports no send time for a frame acked that was not sent on this connection', () => {
    const { session, tally, push, flush } = driver();
    session.hello(0);
    push(2);
    flush(0);
    session.closed();
    session.hello(0);
    session.ack(2, 50);
    expect(tally.acked).toEqual([undefined, undefined]);
  });

  it('halves the frames in flight on each refusal and regrows per ack', () => {
    const { session, push, flush } = driver({ capacity: 1000, maxInFlight: 32 });
    session.hello(0);
    push(200);
    expect(flush()).toHaveLength(32);
    session.refused();
    expect(flush()).toHaveLength(16);
    for (let i = 0; i < 5; i++) session.refused();
    expect(flush()).toHaveLength(1);
    session.ack(1, 0);
    expect(flush()).toHaveLength(2);
  });

  it('stops at the first frame the socket refuses and sends it first next time', () => {
    const { session, push } = driver();
    session.hello(0);
    push(3);
    const written: number[] = [];
    session.flush((seq) => seq < 2 && (written.push(seq), true), 0);
    session.flush((seq) => (written.push(seq), true), 0);
    expect(written).toEqual([1, 2, 3]);
  });

  it('sends nothing until a hello, and nothing after its connection closed', () => {
    const { session, push, flush } = driver({ firstSeq: 1 });
    push(2);
    expect(flush()).toEqual([]);
    session.hello(0);
    session.closed();
    expect(flush()).toEqual([]);
  });
});

describe('rider session', () => {
  const result = (id: number | string) => ({ t: 'nearby.result' as const, id, drivers: [], source: 'redis' as const, ms: 1 });
  const error = (id?: number) => ({ t: 'error' as const, code: 'rate_limited' as const, message: 'slow down', ...(id === undefined ? {} : { id }) });

  it('matches answers and errors to their queries by id, once', () => {
    const session = new RiderSession<string>();
    const first = session.newId();
    const second = session.newId();
    session.track(first, 'a', 1);
    session.track(second, 'b', 2);
    expect(session.answer(result(second))).toEqual({ id: second, sentAt: 2, context: 'b' });
    expect(session.answer(result(second))).toBeUndefined();
    expect(session.answer(error(first))?.context).toBe('a');
    expect(session.outstanding).toBe(0);
  });

  it('settles the oldest query with an error that names none, and ignores ids it never issued', () => {
    const session = new RiderSession<string>();
    for (const context of ['a', 'b']) session.track(session.newId(), context, 0);
    expect(session.answer(error())?.context).toBe('a');
    expect(session.answer(result('elsewhere'))).toBeUndefined();
    expect(session.outstanding).toBe(1);
  });

  it('expires queries sent before a cutoff, and loses every pending query with its connection', () => {
    const session = new RiderSession<string>();
    session.track(session.newId(), 'old', 10);
    session.track(session.newId(), 'new', 50);
    expect(session.expire(20).map((query) => query.context)).toEqual(['old']);
    session.track(session.newId(), 'newer', 60);
    expect(session.lost().map((query) => query.context)).toEqual(['new', 'newer']);
    expect(session.outstanding).toBe(0);
  });
});

describe('subscription session', () => {
  const centre = { lat: 40.75, lng: -73.98 };

  it('opens, re-centres and ends subscriptions with messages the hub accepts, and reopens them with their latest centre', () => {
    const session = new SubscriptionSession<string>('w');
    const { watch, message } = session.add({ ...centre, radiusKm: 2 }, 'view');
    expect(message).toEqual({ t: 'subscribe', id: 'w1', ...centre, radiusKm: 2, limit: 10 });
    expect(session.move(watch.id, 40.7, -74)).toEqual({ t: 'subscribe.move', id: 'w1', lat: 40.7, lng: -74 });
    expect(session.reopen()).toEqual([{ t: 'subscribe', id: 'w1', lat: 40.7, lng: -74, radiusKm: 2, limit: 10 }]);
    expect(session.renew('w1')).toEqual([
      { t: 'unsubscribe', id: 'w1' },
      { t: 'subscribe', id: 'w1', lat: 40.7, lng: -74, radiusKm: 2, limit: 10 },
    ]);
    expect(session.remove('w1')).toEqual({ t: 'unsubscribe', id: 'w1' });
    expect(session.remove('w1')).toBeUndefined();
    expect(session.move('w1', 0, 0)).toBeUndefined();
    expect(session.reopen()).toEqual([]);
    expect(() => session.add({ ...centre, radiusKm: 0 }, 'bad')).toThrow();
  });

  it('routes updates and errors to their subscription, and forgets one whose criteria were refused', () => {
    const session = new SubscriptionSession<string>();
    const a = session.add(centre, 'a').watch;
    const b = session.add(centre, 'b').watch;
    const update: NearbyUpdateMessage = { t: 'nearby.update', id: a.id, drivers: [], source: 'redis', ms: 1 };
    expect(session.route(update)).toEqual({ kind: 'update', watch: a, update });
    expect(session.route({ ...update, t: 'nearby.result' })).toBeUndefined();
    expect(session.route({ ...update, id: 'unknown' })).toBeUndefined();
    const later = { t: 'error', code: 'unavailable', message: 'later', id: b.id } as const;
    const refused = { t: 'error', code: 'out_of_range', message: 'no', id: b.id } as const;
    expect(session.route(later)).toEqual({ kind: 'error', watch: b, error: later });
    expect(session.size).toBe(2);
    expect(session.route(refused)).toEqual({ kind: 'error', watch: b, error: refused });
    expect(session.size).toBe(1);
  });
});
