import type { LocalConnections, PresenceChange } from '../bus/types.ts';
import type { Identity } from '../domain/identity.ts';
import { CloseCode } from '../protocol/close-codes.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { Signal } from '../signal.ts';
import { sendAck, sendCorked, type DriverSocket, type RiderSocket } from './socket-data.ts';

/** Ends a driver socket another one took over; its frames are ignored from now on, so they cannot interleave with the new socket's. */
export function endReplaced(ws: DriverSocket): void {
  const data = ws.getUserData();
  if (data.closed || data.replaced) return;
  data.replaced = true;
  ws.end(CloseCode.REPLACED, 'replaced by a newer connection');
}

/**
 * The sockets of this process by identity: one current socket per driver
 * (a newer one takes over), any number per rider. It is the local Delivery:
 * services push through it without knowing sockets, and it reports who
 * connects and disconnects. Created before the transport and the services,
 * so neither has to wait for the other.
 */
export class ConnectionRegistry implements LocalConnections {
  readonly presence = new Signal<[PresenceChange]>();
  private readonly drivers = new Map<number, DriverSocket>();
  private readonly riders = new Map<string, Set<RiderSocket>>();
  private riderSocketCount = 0;

  /** Makes `ws` the driver's current socket and returns the one it replaces, if any. */
  setDriver(driverId: number, ws: DriverSocket): DriverSocket | undefined {
    const previous = this.drivers.get(driverId);
    this.drivers.set(driverId, ws);
    return previous;
  }

  /** Forgets a closed driver socket; true when it was the current one (the driver has no socket here any more). */
  removeDriver(driverId: number, ws: DriverSocket): boolean {
    if (this.drivers.get(driverId) !== ws) return false;
    this.drivers.delete(driverId);
    this.presence.emit({ kind: 'disconnected', identity: { role: 'driver', driverId } });
    return true;
  }

  addRider(riderId: string, ws: RiderSocket): void {
    let sockets = this.riders.get(riderId);
    if (!sockets) {
      sockets = new Set();
      this.riders.set(riderId, sockets);
    }
    sockets.add(ws);
    this.riderSocketCount += 1;
  }

  removeRider(riderId: string, ws: RiderSocket): void {
    const sockets = this.riders.get(riderId);
    if (!sockets?.delete(ws)) return;
    this.riderSocketCount -= 1;
    if (sockets.size > 0) return;
    this.riders.delete(riderId);
    this.presence.emit({ kind: 'disconnected', identity: { role: 'rider', riderId } });
  }

  endReplacedDriver(driverId: number): boolean {
    const ws = this.drivers.get(driverId);
    if (!ws) return false;
    endReplaced(ws);
    return true;
  }

  /** Announces a socket that is ready for pushes (a driver's after its hello). */
  announce(identity: Identity): void {
    this.presence.emit({ kind: 'connected', identity });
  }

  /** Acks to the driver's current socket, pre-encoded (the hot path); a property, so ingest's ack signal can take it unbound. */
  readonly ackDriver = (driverId: number, seq: number): void => {
    const ws = this.drivers.get(driverId);
    if (ws) sendAck(ws, seq);
  };

  toDriver(driverId: number, message: ServerMessage): boolean {
    const ws = this.drivers.get(driverId);
    if (!ws || ws.getUserData().closed) return false;
    sendCorked(ws, message);
    return true;
  }

  toRider(riderId: string, message: ServerMessage): boolean {
    const sockets = this.riders.get(riderId);
    if (!sockets) return false;
    for (const ws of sockets) sendCorked(ws, message);
    return true;
  }

  driverSockets(): IterableIterator<DriverSocket> {
    return this.drivers.values();
  }

  *riderSockets(): Generator<RiderSocket> {
    for (const sockets of this.riders.values()) yield* sockets;
  }

  counts(): { drivers: number; riders: number } {
    return { drivers: this.drivers.size, riders: this.riderSocketCount };
  }
}
