import type { FrameRate } from '../frame-rate.ts';
import type { Metrics } from '../metrics.ts';
import type { HubEvent } from '../transport/ports.ts';

/** Turns the transport's events into Prometheus metrics and the frame rate the stats show. */
export function recordHubEvents(metrics: Metrics, frameRate: FrameRate): (event: HubEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'frame.received':
        if (event.role !== 'driver') return;
        metrics.framesReceived.inc({ type: event.messageType });
        if (event.messageType === 'loc') frameRate.count();
        return;
      case 'frame.refused':
        metrics.framesRefused.inc({ reason: event.code });
        return;
      case 'connection.opened':
        metrics.connections.inc({ role: event.role });
        return;
      case 'connection.closed':
        metrics.connections.dec({ role: event.role });
        return;
      case 'upgrade.refused':
        metrics.upgradesRefused.inc({ code: event.code });
        return;
      case 'socket.closed_by_hub':
        metrics.socketsClosedByHub.inc({ reason: event.reason });
        return;
      case 'result.coalesced':
        metrics.resultsCoalesced.inc();
        return;
      case 'sockets.slow':
        metrics.slowSockets.set(event.count);
        return;
    }
  };
}
