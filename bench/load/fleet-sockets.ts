import { WireSocket } from '../../clients/core/wire-socket.ts';
import type { HubAddress, TokenSpec } from './load-protocol.ts';
import { sleep, type TaskRun } from './task-run.ts';
import { tokenQuery } from './tokens.ts';

/** After a fleet closes its sockets: a moment for the hub to take the closes in before the next task starts. */
const CLOSE_SETTLE_MS = 200;

export interface RiderSockets<T> {
  hub: HubAddress;
  count: number;
  token: TokenSpec | undefined;
  /** Rider ids are `${idPrefix}-${pid}-${index}`: no two fleets or worker processes share one. */
  idPrefix: string;
  /** The connect task: counts each socket that fails to open, by reason. */
  run: TaskRun;
  /** Records each open's time, from the request to the upgrade, into the connect task's latency. */
  timeOpens: boolean;
  /** The task running when an open socket closes: it counts the close as an error. */
  currentRun(): TaskRun | undefined;
  /** The fleet's own record of one rider, around its socket. */
  create(socket: WireSocket): T;
  onMessage(member: T, payload: Buffer): void;
}

/** Opens every rider socket at once (msgpack); resolves, when each has opened or failed, with those that opened. */
export async function openRiderSockets<T>(spec: RiderSockets<T>): Promise<T[]> {
  const opened = new Array<T | undefined>(spec.count).fill(undefined);
  await Promise.all(
    Array.from({ length: spec.count }, async (_, index) => {
      const riderId = `${spec.idPrefix}-${process.pid}-${index}`;
      const query = await tokenQuery(spec.token, { role: 'rider', riderId });
      const started = performance.now();
      await new Promise<void>((resolve) => {
        let settled = false;
        const member = spec.create(
          new WireSocket(spec.hub.host, spec.hub.port, `/ws/rider?id=${riderId}&encoding=msgpack${query}`, {
            onOpen: () => {
              settled = true;
              if (spec.timeOpens) spec.run.latency.record(performance.now() - started);
              opened[index] = member;
              resolve();
            },
            onMessage: (payload) => spec.onMessage(member, payload),
            onClose: (reason) => {
              if (settled) spec.currentRun()?.error('socket closed');
              else spec.run.error(reason.slice(0, 80));
              resolve();
            },
          }),
        );
      });
    }),
  );
  return opened.filter((member): member is T => member !== undefined);
}

/** Closes a fleet's sockets (a driver fleet's slots may be empty), then lets the hub take the closes in. */
export async function closeSockets(members: ReadonlyArray<{ socket: WireSocket } | undefined>): Promise<void> {
  for (const member of members) member?.socket.close();
  await sleep(CLOSE_SETTLE_MS);
}
