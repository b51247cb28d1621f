import { Packr } from 'msgpackr';
import type { ServerMessage } from '../protocol/messages.ts';

/** What one process sends another through its inbox channel. */
export type InboxMessage =
  /** Deliver to the driver's socket there. */
  | { k: 'driver'; id: number; m: ServerMessage }
  /** Deliver to every socket of the rider there. */
  | { k: 'rider'; id: string; m: ServerMessage }
  /** A newer socket of the driver took over elsewhere: close the socket named by `token` (4001) if it is still the current one. */
  | { k: 'replaced'; id: number; token: string };

/**
 * The committed changes of one batch that fall in one watched cell, as
 * parallel arrays (the shape of CommittedPositions), and the process that
 * committed them, which skips its own feed.
 */
export interface CellFeedMessage {
  from: string;
  ids: number[];
  statuses: string[];
  lats: number[];
  lngs: number[];
  seenAtMs: number[];
}

// Plain msgpack without records: any process, of any version that knows these shapes, can read any other's.
const packr = new Packr({ useRecords: false });

export function encodeBusMessage(message: InboxMessage | CellFeedMessage): Buffer {
  return packr.pack(message);
}

export function decodeInbox(payload: Buffer): InboxMessage {
  return packr.unpack(payload) as InboxMessage;
}

export function decodeCellFeed(payload: Buffer): CellFeedMessage {
  return packr.unpack(payload) as CellFeedMessage;
}
