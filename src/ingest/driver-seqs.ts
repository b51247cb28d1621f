/** Per-driver sequence bookkeeping, shared by the ingest service and its ack dispatcher. */
export interface DriverSeqs {
  /** Highest seq known committed in PostgreSQL. */
  committed: number;
  /** Highest seq accepted into a queue or in flight. */
  accepted: number;
  /**
   * The first seq refused as `overloaded`, until the driver resends it. Later
   * seqs are refused too: committing them would move last_seq past the
   * refused one, the resend would then count as a duplicate, and the ack of a
   * later seq would claim a frame that was never written.
   */
  resendFrom?: number;
  /** The committed batch whose ack this driver got last: one ack per driver per batch. */
  ackedBatch: number;
}

export function newDriverSeqs(committed: number): DriverSeqs {
  return { committed, accepted: committed, ackedBatch: 0 };
}
