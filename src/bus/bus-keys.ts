/**
 * Redis names the bus uses, under the deployment's key prefix. Presence keys
 * are one per identity, so on a cluster they spread over the masters like
 * the identities do; channels are one per process and one per watched cell,
 * so sharded pub/sub spreads them too.
 */
export class BusKeys {
  private readonly base: string;

  constructor(prefix: string) {
    this.base = `${prefix}bus:`;
  }

  /** STRING "<process>#<serial>": the driver's current socket. */
  driver(driverId: number): string {
    return `${this.base}driver:${driverId}`;
  }

  /** ZSET of processes holding a socket of the rider, scored by when that claim expires. */
  rider(riderId: string): string {
    return `${this.base}rider:${riderId}`;
  }

  /** ZSET of "<cell> <process>" for the cells each process watches for live nearby, scored by when that expires. */
  get watchedCells(): string {
    return `${this.base}watched-cells`;
  }

  inbox(processId: string): string {
    return `${this.base}inbox:${processId}`;
  }

  cellFeed(cell: string): string {
    return `${this.base}cell:${cell}`;
  }
}

/** A socket's presence token: the process that holds it, and which of its sockets. */
export function socketToken(processId: string, serial: number): string {
  return `${processId}#${serial}`;
}

export function processOfToken(token: string): string {
  return token.slice(0, token.lastIndexOf('#'));
}
