import type { SimStats } from '../sim/stats.ts';

/**
 * In normal streaming one frame is in flight at a time; the cap only bites
 * when a reconnect or a refusal leaves a backlog, which then goes out in
 * ack-paced steps instead of one burst of hundreds of frames.
 */
const MAX_IN_FLIGHT = 32;

interface OutboundFrame {
  seq: number;
  bytes: Uint8Array;
  /** performance.now() of the latest send; undefined while the frame waits to be (re)sent. */
  sentAt: number | undefined;
  sends: number;
}

/**
 * A driver's location frames from creation until an ack covers them, in seq
 * order, bounded in count (the oldest go first: a newer position is worth
 * more than an older one) and paced by a congestion window.
 */
export class OutboundFrames {
  private readonly frames: OutboundFrame[] = [];
  /** Additive increase per ack, halved on every refusal, like TCP's congestion window. */
  private window = MAX_IN_FLIGHT;

  constructor(
    private readonly capacity: number,
    private readonly stats: SimStats,
  ) {}

  get size(): number {
    return this.frames.length;
  }

  add(seq: number, bytes: Uint8Array): void {
    this.frames.push({ seq, bytes, sentAt: undefined, sends: 0 });
    this.stats.counters.bufferedFrames += 1;
    if (this.frames.length > this.capacity) {
      this.frames.shift();
      this.stats.counters.bufferedFrames -= 1;
      this.stats.counters.framesDropped += 1;
    }
  }

  /** An ack: everything up to `seq` is durable, timed from each frame's latest send. */
  acked(seq: number, now: number): void {
    this.window = Math.min(MAX_IN_FLIGHT, this.window + 1);
    this.removeThrough(seq, (frame) => this.stats.frameAcked(frame.sentAt === undefined ? undefined : now - frame.sentAt));
  }

  /** A hello's lastSeq: durable, but there is no send-to-ack time to report. */
  resumed(lastSeq: number): void {
    this.removeThrough(lastSeq, () => {
      this.stats.counters.framesResumed += 1;
    });
  }

  /** The connection dropped: whatever was in flight may or may not have landed; the next hello tells. */
  unsendAll(): void {
    for (const frame of this.frames) frame.sentAt = undefined;
  }

  /**
   * The hub refused a frame without saying which, and frames after it were
   * likely refused too: everything unacknowledged goes again. The hub drops
   * seqs it already committed, so resending an accepted frame is harmless.
   * Halving the window makes a fleet back off together instead of answering
   * every refusal with a bigger burst.
   */
  refused(): void {
    this.unsendAll();
    this.window = Math.max(1, Math.floor(this.window / 2));
  }

  /** Sends waiting frames oldest first while fewer than `window` are in flight; stops when `send` refuses. */
  sendWaiting(send: (bytes: Uint8Array) => boolean): void {
    const { counters } = this.stats;
    let inFlight = 0;
    for (const frame of this.frames) if (frame.sentAt !== undefined) inFlight += 1;
    for (const frame of this.frames) {
      if (inFlight >= this.window) return;
      if (frame.sentAt !== undefined) continue;
      if (!send(frame.bytes)) return;
      if (frame.sends > 0) counters.framesResent += 1;
      frame.sends += 1;
      frame.sentAt = performance.now();
      counters.framesSent += 1;
      inFlight += 1;
    }
  }

  private removeThrough(seq: number, settle: (frame: OutboundFrame) => void): void {
    while (this.frames.length > 0 && this.frames[0]!.seq <= seq) {
      settle(this.frames.shift()!);
      this.stats.counters.bufferedFrames -= 1;
    }
  }
}
