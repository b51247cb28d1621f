/**
 * The driver side of the protocol, without a socket: what every driver
 * client (the simulator, the test drivers, the benchmark's fleet) must get
 * right the same way.
 *
 * - Frames are numbered `seq` 1, 2, 3, ... per driver, and numbering always
 *   continues above the hub's `hello.lastSeq`.
 * - Every frame is kept until an ack covers it (acks are cumulative), so a
 *   lost connection loses nothing: after the next hello, everything above
 *   its lastSeq goes again. The buffer is bounded; when it overflows the
 *   oldest frame goes first, because a newer position is worth more.
 * - At most `window` frames are in flight. The window grows by one per ack
 *   and halves on every refusal, like TCP's congestion window, so a fleet
 *   backs off together instead of answering refusals with bigger bursts.
 *
 * Frames live in a ring indexed by seq, so the buffer costs no allocation per
 * frame beyond the encoded bytes themselves.
 */
export interface DriverSessionEvents {
  /** A frame an ack covered; `sentAt` is its latest send on this connection, undefined when it was not sent on it. */
  acked?(seq: number, sentAt: number | undefined, now: number): void;
  /** A frame a hello's lastSeq showed durable: there is no send-to-ack time to report. */
  resumed?(seq: number): void;
  /** A frame evicted from a full buffer before the hub acknowledged it. */
  dropped?(seq: number): void;
  /** A frame written to the socket at `now`; `resend` when it was written before. */
  sent?(seq: number, resend: boolean, now: number): void;
}

export interface DriverSessionOptions {
  /** Frames kept unacknowledged at most. */
  capacity: number;
  /** Frames in flight at most (Infinity: no limit). */
  maxInFlight: number;
  /**
   * The seq of the first frame when numbering may start before any hello
   * (a test driver that numbers from 1). Undefined: no frame is made until
   * the first hello says where the hub's numbering stands.
   */
  firstSeq?: number;
  events?: DriverSessionEvents;
}

export class DriverSession<Payload> {
  private readonly payloads: Array<Payload | undefined>;
  private readonly sentAt: Float64Array;
  private readonly capacity: number;
  private readonly maxInFlight: number;
  private readonly events: DriverSessionEvents;
  /** Seq of the oldest frame kept; frames kept are [oldest, next). */
  private oldest: number;
  private next: number | undefined;
  /** Highest seq sent on the current connection: (oldest - 1, sentThrough] are in flight. */
  private sentThrough: number;
  /** Highest seq ever sent: a send at or below it is a resend. */
  private everSent = 0;
  private highestAck = 0;
  private window: number;
  private ready = false;

  constructor(options: DriverSessionOptions) {
    if (!(options.capacity >= 1) || !Number.isInteger(options.capacity)) throw new RangeError('capacity must be a whole number ≥ 1');
    this.capacity = options.capacity;
    this.maxInFlight = options.maxInFlight;
    this.window = options.maxInFlight;
    this.events = options.events ?? {};
    this.payloads = new Array<Payload | undefined>(options.capacity).fill(undefined);
    this.sentAt = new Float64Array(options.capacity);
    this.next = options.firstSeq;
    this.oldest = options.firstSeq ?? 1;
    this.sentThrough = this.oldest - 1;
  }

  /** True between a hello and the end of its connection: frames may be sent. */
  get isReady(): boolean {
    return this.ready;
  }

  /** Frames kept, sent or not, that no ack or hello has covered yet. */
  get size(): number {
    return this.next === undefined ? 0 : this.next - this.oldest;
  }

  /** Frames sent on this connection and not yet acknowledged. */
  get inFlight(): number {
    return Math.max(0, this.sentThrough - this.oldest + 1);
  }

  /** The seq the next frame gets; undefined before the first hello when numbering waits for it. */
  get nextSeq(): number | undefined {
    return this.next;
  }

  /** The highest seq the hub has acknowledged, by ack or by a hello's lastSeq. */
  get lastAcked(): number {
    return this.highestAck;
  }

  /** The hub's hello on a new connection: settles what it already holds, then frames can flow. */
  hello(lastSeq: number): void {
    this.settleThrough(lastSeq, (seq) => this.events.resumed?.(seq));
    this.highestAck = Math.max(this.highestAck, lastSeq);
    if (this.next === undefined || this.next <= lastSeq) {
      // Nothing kept is above the hub's lastSeq: numbering continues from there.
      this.next = lastSeq + 1;
      this.oldest = this.next;
    }
    this.sentThrough = this.oldest - 1;
    this.ready = true;
  }

  /** The connection is gone: whatever was in flight may or may not have landed; the next hello tells. */
  closed(): void {
    this.ready = false;
    this.sentThrough = this.oldest - 1;
  }

  /** An ack: every frame up to `seq` is durable. */
  ack(seq: number, now: number): void {
    if (seq > this.highestAck) this.highestAck = seq;
    this.window = Math.min(this.maxInFlight, this.window + 1);
    const sentThrough = this.sentThrough;
    this.settleThrough(seq, (seq, index) => this.events.acked?.(seq, seq <= sentThrough ? this.sentAt[index] : undefined, now));
  }

  /**
   * The hub refused a frame without saying which, and frames after it were
   * likely refused too: everything unacknowledged goes again. The hub drops
   * seqs it already committed, so resending an accepted frame is harmless.
   */
  refused(): void {
    this.sentThrough = this.oldest - 1;
    this.window = Math.max(1, Math.floor(this.window / 2));
  }

  /**
   * Numbers a new frame and keeps it; `encode` makes its bytes. Returns the
   * seq, or undefined before the first hello when numbering waits for it.
   */
  push(encode: (seq: number) => Payload): number | undefined {
    const seq = this.next;
    if (seq === undefined) return undefined;
    this.next = seq + 1;
    const index = seq % this.capacity;
    if (this.size > this.capacity) {
      // The ring slot of the new frame holds the oldest: evict it.
      const evicted = this.oldest;
      this.oldest += 1;
      if (this.sentThrough < this.oldest - 1) this.sentThrough = this.oldest - 1;
      this.events.dropped?.(evicted);
    }
    this.payloads[index] = encode(seq);
    this.sentAt[index] = 0;
    return seq;
  }

  /**
   * Writes waiting frames oldest first while fewer than the window are in
   * flight and the session is ready; stops at the first one `send` refuses.
   */
  flush(send: (payload: Payload) => boolean, now: number): void {
    if (!this.ready || this.next === undefined) return;
    while (this.sentThrough + 1 < this.next && this.inFlight < this.window) {
      const seq = this.sentThrough + 1;
      const index = seq % this.capacity;
      const payload = this.payloads[index]!;
      if (!send(payload)) return;
      this.sentThrough = seq;
      this.sentAt[index] = now;
      const resend = seq <= this.everSent;
      if (!resend) this.everSent = seq;
      this.events.sent?.(seq, resend, now);
    }
  }

  private settleThrough(seq: number, settle: (seq: number, index: number) => void): void {
    if (this.next === undefined) return;
    const through = Math.min(seq, this.next - 1);
    while (this.oldest <= through) {
      const settled = this.oldest;
      const index = settled % this.capacity;
      this.oldest += 1;
      settle(settled, index);
      this.payloads[index] = undefined;
    }
    if (this.sentThrough < this.oldest - 1) this.sentThrough = this.oldest - 1;
  }
}
