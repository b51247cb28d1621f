/** WebSocket close codes the hub sends, documented in docs/protocol.md. */
export const CloseCode = {
  /** The hub is shutting down; reconnect (to another hub) and resend. */
  GOING_AWAY: 1001,
  /** Policy violation: sustained abuse of the rate limits. */
  POLICY_VIOLATION: 1008,
  /** Outbound buffer stayed over the bound: the client reads too slowly. */
  TOO_SLOW: 4008,
  /** A newer connection for the same driver took over this one. */
  REPLACED: 4001,
  /** The connection's token expired; reconnect with a fresh one. */
  TOKEN_EXPIRED: 4401,
} as const;
