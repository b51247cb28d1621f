import type { DriverMessage } from '../protocol/messages.ts';
import type { AcceptOutcome } from '../ingest/ingest-service.ts';
import type { HubServices } from './ports.ts';
import type { RideHandlers } from './ride-handlers.ts';
import type { HandlerTable } from './routing.ts';
import { sendMessage, type DriverSocket } from './socket-data.ts';

export type DriverHandlers = HandlerTable<DriverMessage, DriverSocket>;

/** What a driver socket does with each message it accepts. Add a line per new driver message type. */
export function driverHandlers(services: HubServices, rides: RideHandlers['driver']): DriverHandlers {
  const refuseIfOverloaded = (ws: DriverSocket, outcome: AcceptOutcome, seq?: number) => {
    if (outcome !== 'overloaded') return;
    services.record({ type: 'frame.refused', code: 'overloaded' });
    const refused = seq === undefined ? {} : { seq };
    sendMessage(ws, { t: 'error', code: 'overloaded', message: 'hub is at its pending-frame bound; resend later', ...refused, retryAfterMs: 1000 });
  };
  return {
    loc: (ws, frame, receivedAtMs) => refuseIfOverloaded(ws, services.ingest.acceptLocation(ws.getUserData().driverId, frame, receivedAtMs), frame.seq),
    status: (ws, frame, receivedAtMs) => refuseIfOverloaded(ws, services.ingest.acceptStatus(ws.getUserData().driverId, frame.status, receivedAtMs)),
    ...rides,
  };
}
