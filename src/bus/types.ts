import type { Identity } from '../domain/identity.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import type { Signal } from '../signal.ts';

/**
 * How a domain service pushes a message to a driver or a rider without
 * knowing sockets or processes. The transport implements it for the sockets
 * of this process (ConnectionRegistry); a cross-process bus wraps it, sending
 * what has no local socket to the process that holds one.
 */
export interface Delivery {
  /** Sends to the driver's current socket; false when no socket of it is here. */
  toDriver(driverId: number, message: ServerMessage): boolean;
  /** Sends to every socket of the rider; false when no socket of it is here. */
  toRider(riderId: string, message: ServerMessage): boolean;
}

/**
 * A connection change of one identity on this process. `connected` fires for
 * every new socket once it is ready for pushes (for a driver: after `hello`),
 * including a socket that takes over from an older one of the same driver,
 * so a service can re-send state (open rides, pending offers) to the socket
 * that now holds the identity. `disconnected` fires when the identity has no
 * socket left here (a replaced socket closing does not count).
 */
export interface PresenceChange {
  kind: 'connected' | 'disconnected';
  identity: Identity;
}

/** Delivery plus who is connected: what the transport offers the services. */
export interface LocalConnections extends Delivery {
  readonly presence: Signal<[PresenceChange]>;
  counts(): { drivers: number; riders: number };
  /**
   * A newer socket of the driver on another process took over: the current
   * socket here stops taking frames and closes with 4001 (REPLACED), as when
   * the takeover happens within this process. False when none is here.
   */
  endReplacedDriver(driverId: number): boolean;
}
