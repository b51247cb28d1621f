import type { WebSocketBehavior } from 'uWebSockets.js';

export interface SocketLimitSettings {
  maxPayloadBytes: number;
  idleTimeoutSeconds: number;
  maxBackpressureBytes: number;
}

export interface SocketLimits {
  /** The outbound bound per socket: uWS drops sends beyond it, the routes hold results back before it. */
  readonly maxBackpressureBytes: number;
  readonly uwsOptions: Pick<
    WebSocketBehavior<unknown>,
    'compression' | 'maxPayloadLength' | 'idleTimeout' | 'maxBackpressure' | 'closeOnBackpressureLimit' | 'sendPingsAutomatically'
  >;
}

export function socketLimits(settings: SocketLimitSettings): SocketLimits {
  return {
    maxBackpressureBytes: settings.maxBackpressureBytes,
    uwsOptions: {
      compression: 0,
      maxPayloadLength: settings.maxPayloadBytes,
      idleTimeout: settings.idleTimeoutSeconds,
      maxBackpressure: settings.maxBackpressureBytes,
      closeOnBackpressureLimit: 0,
      sendPingsAutomatically: true,
    },
  };
}
