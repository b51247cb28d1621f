import type { ServerMessage } from '../protocol/messages.ts';
import { Signal } from '../signal.ts';
import { decodeInbox, encodeBusMessage, type InboxMessage } from './bus-messages.ts';
import { processOfToken, socketToken, type BusKeys } from './bus-keys.ts';
import type { BusLink } from './redis-link.ts';
import type { LocalConnections, PresenceChange } from './types.ts';

/** What the bus reports, for metrics. */
export interface BusObserver {
  /** A message left for another process's inbox, or a batch's changes for one watched cell (`cell`). */
  sent(kind: InboxMessage['k'] | 'cell'): void;
  /** A message arrived in this process's inbox, or from a watched cell; `delivered` is false when its socket had gone meanwhile. */
  received(kind: InboxMessage['k'] | 'cell', delivered: boolean): void;
  /** A push found no socket anywhere (nobody connected, or not yet registered). */
  unreachable(role: 'driver' | 'rider'): void;
  /** A Redis call of the bus failed; the push or presence write it served is dropped. */
  failed(op: string, error: unknown): void;
}

export interface HubBusOptions {
  link: BusLink;
  keys: BusKeys;
  /** Unique per process run: names its inbox and its presence claims. */
  processId: string;
  local: LocalConnections;
  /** A presence claim lives this long unless refreshed... */
  presenceTtlMs: number;
  /** ...and is refreshed this often (a few times per TTL, so one late heartbeat loses nothing). */
  heartbeatMs: number;
  observer: BusObserver;
}

/**
 * Delivery across hub processes. A push goes to the local socket when the
 * identity is connected here; otherwise the presence registry in Redis says
 * which process holds it, and the message goes to that process's inbox
 * channel only (never to every process). Presence claims expire unless
 * refreshed, so a process that dies leaves no lasting claims behind.
 *
 * A driver has one current socket across all processes: a socket that
 * connects claims the driver's key and tells the previous holder, which
 * closes its socket with 4001 (REPLACED) as a takeover within one process
 * does. A rider may hold sockets on several processes; each is told.
 *
 * A push is fire-and-forget, like a socket send: one whose Redis call fails
 * is dropped (and counted), and a party that reconnects gets its rides and
 * offers again from the database.
 */
export class HubBus implements LocalConnections {
  /** A message another process sent to a driver connected here, once delivered: dispatch follows ride changes made elsewhere. */
  readonly relayedToDriver = new Signal<[number, ServerMessage]>();
  private readonly driverTokens = new Map<number, string>();
  private readonly riders = new Set<string>();
  private serial = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly unsubscribePresence: () => void;
  private readonly inbox: string;

  constructor(private readonly options: HubBusOptions) {
    this.inbox = options.keys.inbox(options.processId);
    this.unsubscribePresence = options.local.presence.subscribe(this.presenceChanged);
  }

  get presence(): LocalConnections['presence'] {
    return this.options.local.presence;
  }

  counts(): { drivers: number; riders: number } {
    return this.options.local.counts();
  }

  endReplacedDriver(driverId: number): boolean {
    return this.options.local.endReplacedDriver(driverId);
  }

  /** Listens on this process's inbox and starts the presence heartbeat. */
  async start(): Promise<void> {
    this.heartbeat = setInterval(() => this.refreshPresence(), this.options.heartbeatMs);
    this.heartbeat.unref();
    await this.options.link.subscribe(this.inbox, this.received);
  }

  /** Stops the heartbeat and withdraws this process's presence claims (best effort: they expire anyway). */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    this.unsubscribePresence();
    const { commands } = this.options.link;
    const { keys, processId } = this.options;
    await Promise.allSettled([
      ...[...this.driverTokens].map(([driverId, token]) => commands.releaseDriver(keys.driver(driverId), token)),
      ...[...this.riders].map((riderId) => commands.zRem(keys.rider(riderId), processId)),
    ]);
  }

  toDriver(driverId: number, message: ServerMessage): boolean {
    if (this.options.local.toDriver(driverId, message)) return true;
    this.forwardToDriver(driverId, message).catch((error: unknown) => this.options.observer.failed('forward_driver', error));
    return false;
  }

  toRider(riderId: string, message: ServerMessage): boolean {
    const here = this.options.local.toRider(riderId, message);
    this.forwardToRider(riderId, message, here).catch((error: unknown) => this.options.observer.failed('forward_rider', error));
    return here;
  }

  private async forwardToDriver(driverId: number, message: ServerMessage): Promise<void> {
    const token = await this.options.link.commands.get(this.options.keys.driver(driverId));
    const holder = token === null ? undefined : processOfToken(token);
    if (holder === undefined || holder === this.options.processId) {
      this.options.observer.unreachable('driver');
      return;
    }
    await this.send(holder, { k: 'driver', id: driverId, m: message });
  }

  private async forwardToRider(riderId: string, message: ServerMessage, deliveredHere: boolean): Promise<void> {
    const holders = await this.options.link.commands.zRangeByScore(this.options.keys.rider(riderId), Date.now(), '+inf');
    const elsewhere = holders.filter((holder) => holder !== this.options.processId);
    if (elsewhere.length === 0 && !deliveredHere) this.options.observer.unreachable('rider');
    await Promise.all(elsewhere.map((holder) => this.send(holder, { k: 'rider', id: riderId, m: message })));
  }

  private async send(processId: string, message: InboxMessage): Promise<void> {
    await this.options.link.publish(this.options.keys.inbox(processId), encodeBusMessage(message));
    this.options.observer.sent(message.k);
  }

  private listen(): void {
    this.options.link.subscribe(this.inbox, this.received).catch((error: unknown) => this.options.observer.failed('subscribe', error));
  }

  private readonly received = (payload: Buffer): void => {
    let message: InboxMessage;
    try {
      message = decodeInbox(payload);
    } catch (error) {
      this.options.observer.failed('decode', error);
      return;
    }
    const { local } = this.options;
    let delivered: boolean;
    switch (message.k) {
      case 'driver':
        delivered = local.toDriver(message.id, message.m);
        if (delivered) this.relayedToDriver.emit(message.id, message.m);
        break;
      case 'rider':
        delivered = local.toRider(message.id, message.m);
        break;
      case 'replaced':
        // Only the socket that was replaced: a newer one here (the driver came back meanwhile) stays.
        delivered = this.driverTokens.get(message.id) === message.token && local.endReplacedDriver(message.id);
        break;
    }
    this.options.observer.received(message.k, delivered);
  };

  private readonly presenceChanged = (change: PresenceChange): void => {
    const work =
      change.identity.role === 'driver' ? this.driverChanged(change.kind, change.identity.driverId) : this.riderChanged(change.kind, change.identity.riderId);
    work.catch((error: unknown) => this.options.observer.failed(`presence_${change.kind}`, error));
  };

  private async driverChanged(kind: PresenceChange['kind'], driverId: number): Promise<void> {
    const { commands } = this.options.link;
    const key = this.options.keys.driver(driverId);
    if (kind === 'disconnected') {
      const token = this.driverTokens.get(driverId);
      this.driverTokens.delete(driverId);
      if (token) await commands.releaseDriver(key, token);
      return;
    }
    const token = socketToken(this.options.processId, ++this.serial);
    this.driverTokens.set(driverId, token);
    const previous = await commands.set(key, token, { expiration: { type: 'PX', value: this.options.presenceTtlMs }, GET: true });
    // A socket of this process replaced here already closed with 4001 in the transport.
    if (previous === null || processOfToken(previous) === this.options.processId) return;
    await this.send(processOfToken(previous), { k: 'replaced', id: driverId, token: previous });
  }

  private async riderChanged(kind: PresenceChange['kind'], riderId: string): Promise<void> {
    const { commands } = this.options.link;
    const key = this.options.keys.rider(riderId);
    if (kind === 'disconnected') {
      this.riders.delete(riderId);
      await commands.zRem(key, this.options.processId);
      return;
    }
    this.riders.add(riderId);
    await this.claimRider(key);
  }

  private async claimRider(key: string): Promise<void> {
    const { commands } = this.options.link;
    const ttlMs = this.options.presenceTtlMs;
    await Promise.all([commands.zAdd(key, [{ score: Date.now() + ttlMs, value: this.options.processId }]), commands.pExpire(key, ttlMs)]);
  }

  /** Every claim of this process again, pipelined (node-redis sends commands issued together in one write); the connection and the inbox subscription again if they failed. */
  private refreshPresence(): void {
    this.options.link.reconnectIfClosed();
    this.listen();
    const { commands } = this.options.link;
    const { keys } = this.options;
    const ttl = String(this.options.presenceTtlMs);
    const fail = (error: unknown) => this.options.observer.failed('heartbeat', error);
    for (const [driverId, token] of this.driverTokens) commands.refreshDriver(keys.driver(driverId), token, ttl).catch(fail);
    for (const riderId of this.riders) this.claimRider(keys.rider(riderId)).catch(fail);
  }
}
