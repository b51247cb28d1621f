import type { DriverStatus } from '../domain/driver.ts';
import { cellOf, cellsCovering } from '../geo/cells.ts';
import type { CommittedPositions } from '../ingest/committed-positions.ts';
import { Signal } from '../signal.ts';
import type { WatchedAreas } from '../subscriptions/types.ts';
import { decodeCellFeed, encodeBusMessage, type CellFeedMessage } from './bus-messages.ts';
import type { BusKeys } from './bus-keys.ts';
import type { BusObserver } from './hub-bus.ts';
import type { BusLink } from './redis-link.ts';

export interface CellFeedsOptions {
  link: BusLink;
  keys: BusKeys;
  processId: string;
  /** How often the watched-cells set is re-read (and this process's own cells refreshed in it)... */
  refreshMs: number;
  /** ...and how long a cell stays in it without a refresh. */
  watchTtlMs: number;
  observer: BusObserver;
}

/**
 * Live nearby across processes, by cell. A process whose subscriptions
 * watch a cell (the index's geohash cells, a few km on a side) subscribes to
 * that cell's channel and lists the cell in a shared set in Redis, with an
 * expiry it keeps refreshing. After each committed batch, the process that
 * committed it publishes the drivers that moved to each cell someone watches,
 * and nothing for the rest: a driver in a quiet part of town costs no
 * messages at all. A driver that leaves a watched cell is published to that
 * cell too, so subscriptions there see it go.
 *
 * A newly watched cell reaches the publishers at their next re-read (within
 * `refreshMs`); the subscription's own first search covers that gap.
 */
export class CellFeeds implements WatchedAreas {
  /** Changes other processes committed in the cells this process watches. */
  readonly remote = new Signal<[CommittedPositions]>();
  /** Subscriptions of this process per watched cell. */
  private readonly watchers = new Map<string, number>();
  /** Cells other processes watch, as last read from Redis. */
  private watchedElsewhere = new Set<string>();
  /** For drivers last published to a watched cell: that cell, so leaving it is published there too. */
  private readonly lastCell = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CellFeedsOptions) {}

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
    await this.refresh();
  }

  /** Stops refreshing and takes this process's cells out of the shared set (best effort: they expire anyway). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    const members = [...this.watchers.keys()].map((cell) => this.member(cell));
    await Promise.allSettled(members.map((member) => this.options.link.commands.zRem(this.options.keys.watchedCells, member)));
  }

  watch(lat: number, lng: number, radiusKm: number): readonly string[] {
    const cells = cellsCovering(lat, lng, radiusKm);
    const added: string[] = [];
    for (const cell of cells) {
      const count = this.watchers.get(cell) ?? 0;
      this.watchers.set(cell, count + 1);
      if (count === 0) {
        added.push(cell);
        this.listen(cell);
      }
    }
    if (added.length > 0) this.announce(added);
    return cells;
  }

  unwatch(handle: unknown): void {
    for (const cell of handle as readonly string[]) {
      const count = (this.watchers.get(cell) ?? 1) - 1;
      if (count > 0) {
        this.watchers.set(cell, count);
        continue;
      }
      this.watchers.delete(cell);
      this.options.link.commands
        .zRem(this.options.keys.watchedCells, this.member(cell))
        .catch((error: unknown) => this.options.observer.failed('cell_unwatch', error));
      this.options.link
        .unsubscribe(this.options.keys.cellFeed(cell), this.received)
        .catch((error: unknown) => this.options.observer.failed('cell_unsubscribe', error));
    }
  }

  /** After a batch is committed (and indexed) here: its changes, to the watched cells they are in or just left. */
  publish(committed: CommittedPositions): void {
    if (this.watchedElsewhere.size === 0 && this.lastCell.size === 0) return;
    const byCell = new Map<string, CellFeedMessage>();
    const add = (cell: string, i: number) => {
      let message = byCell.get(cell);
      if (!message) byCell.set(cell, (message = { from: this.options.processId, ids: [], statuses: [], lats: [], lngs: [], seenAtMs: [] }));
      message.ids.push(committed.ids[i]!);
      message.statuses.push(committed.statuses[i]!);
      message.lats.push(committed.lats[i]!);
      message.lngs.push(committed.lngs[i]!);
      message.seenAtMs.push(committed.seenAtMs[i]!);
    };
    for (let i = 0; i < committed.ids.length; i++) {
      const id = committed.ids[i]!;
      const lat = committed.lats[i]!;
      const cell = Number.isNaN(lat) ? undefined : cellOf(lat, committed.lngs[i]!);
      const previous = this.lastCell.get(id);
      if (previous !== undefined && previous !== cell && this.watchedElsewhere.has(previous)) add(previous, i);
      if (cell !== undefined && this.watchedElsewhere.has(cell)) {
        add(cell, i);
        this.lastCell.set(id, cell);
      } else {
        this.lastCell.delete(id);
      }
    }
    const { link, keys, observer } = this.options;
    for (const [cell, message] of byCell) {
      link.publish(keys.cellFeed(cell), encodeBusMessage(message)).then(
        () => observer.sent('cell'),
        (error: unknown) => observer.failed('cell_publish', error),
      );
    }
  }

  /** A cell as this process watches it in the shared set: "<cell> <process>", so a publisher can skip cells only it watches. */
  private member(cell: string): string {
    return `${cell} ${this.options.processId}`;
  }

  private listen(cell: string): void {
    this.options.link
      .subscribe(this.options.keys.cellFeed(cell), this.received)
      .catch((error: unknown) => this.options.observer.failed('cell_subscribe', error));
  }

  private announce(cells: string[]): void {
    const expiresAt = Date.now() + this.options.watchTtlMs;
    this.options.link.commands
      .zAdd(
        this.options.keys.watchedCells,
        cells.map((cell) => ({ score: expiresAt, value: this.member(cell) })),
      )
      .catch((error: unknown) => this.options.observer.failed('cell_watch', error));
  }

  /** Refreshes this process's cells in the shared set (and their channels, if a subscription failed), drops expired ones, and reads which cells anyone watches. */
  private async refresh(): Promise<void> {
    const { commands } = this.options.link;
    const key = this.options.keys.watchedCells;
    const now = Date.now();
    try {
      if (this.watchers.size > 0) {
        const cells = [...this.watchers.keys()];
        this.announce(cells);
        for (const cell of cells) this.listen(cell);
      }
      await commands.zRemRangeByScore(key, '-inf', now);
      const watched = new Set<string>();
      for (const member of await commands.zRangeByScore(key, now, '+inf')) {
        const [cell, processId] = member.split(' ');
        if (processId !== this.options.processId) watched.add(cell!);
      }
      this.watchedElsewhere = watched;
    } catch (error) {
      this.options.observer.failed('cell_refresh', error);
    }
  }

  private readonly received = (payload: Buffer): void => {
    let message: CellFeedMessage;
    try {
      message = decodeCellFeed(payload);
    } catch (error) {
      this.options.observer.failed('decode', error);
      return;
    }
    if (message.from === this.options.processId) return;
    this.options.observer.received('cell', true);
    this.remote.emit({
      ids: message.ids,
      statuses: message.statuses as DriverStatus[],
      lats: message.lats,
      lngs: message.lngs,
      seenAtMs: message.seenAtMs,
    });
  };
}
