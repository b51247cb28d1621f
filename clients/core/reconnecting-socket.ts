import WebSocket from 'ws';
import { CloseCode } from '../../src/protocol/close-codes.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from '../lib/backoff.ts';
import type { TokenProvider, TokenSubject } from './endpoints.ts';
import type { Rng } from '../../src/domain/random.ts';
import { decodeServerFrame } from './server-frames.ts';
import type { SimStats } from '../sim/stats.ts';

const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A hub that never answers our close frame must not hold up the end of a run. */
const CLOSE_TIMEOUT_MS = 2_000;

export interface ReconnectingSocketOptions {
  url(token: string | undefined): string;
  subject: TokenSubject;
  tokenProvider?: TokenProvider | undefined;
  rng: Rng;
  stats: SimStats;
  backoff?: BackoffOptions | undefined;
  onOpen(): void;
  /** Undefined for a frame that did not decode to a message. */
  onMessage(message: ServerMessage | undefined): void;
  /** Called on every close, deliberate or not, after the socket is gone; `replaced` when it ended with 4001. */
  onClose(replaced: boolean): void;
}

type State = 'idle' | 'connecting' | 'open' | 'waiting';

/**
 * One client connection that comes back by itself: a fresh token per
 * attempt, exponential backoff with jitter between attempts, and a
 * deliberate close() that stays closed until connect() is called again.
 * A close with 4001 (another connection took this driver over) is not
 * retried either: reconnecting would take the driver back, and the two
 * clients would evict each other for ever.
 */
export class ReconnectingSocket {
  private socket: WebSocket | undefined;
  private state: State = 'idle';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReconnectingSocketOptions) {}

  get isOpen(): boolean {
    return this.state === 'open';
  }

  connect(): void {
    if (this.state === 'idle') void this.open();
  }

  /** The caller decides when a session is healthy (for a driver: the hello), not the TCP handshake. */
  resetBackoff(): void {
    this.attempt = 0;
  }

  send(frame: Uint8Array | string): boolean {
    if (this.state !== 'open' || !this.socket) return false;
    this.socket.send(frame);
    return true;
  }

  async close(code = 1000, reason = ''): Promise<void> {
    this.state = 'idle';
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => socket.terminate(), CLOSE_TIMEOUT_MS);
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      socket.close(code, reason);
    });
  }

  private async open(): Promise<void> {
    this.state = 'connecting';
    let token: string | undefined;
    try {
      token = await this.options.tokenProvider?.(this.options.subject);
    } catch {
      // A failing token source is retried like a failing hub: it may be a transient outage.
      this.options.stats.error('token');
      if (this.state === 'connecting') this.scheduleRetry();
      return;
    }
    // close() may have run while the token was being fetched.
    if (this.state !== 'connecting') return;
    const socket = new WebSocket(this.options.url(token), {
      // Location frames are ~60 bytes: compression would cost both sides CPU for nothing.
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    this.socket = socket;
    socket.on('open', () => {
      this.state = 'open';
      this.options.onOpen();
    });
    socket.on('message', (data, isBinary) => this.options.onMessage(decodeServerFrame(data, isBinary)));
    socket.on('error', (error) => {
      // Errors after a deliberate close are ws reporting our own abort.
      if (this.state !== 'idle') this.options.stats.error(socketErrorCode(error));
    });
    socket.on('close', (code) => this.handleClose(socket, code));
  }

  private handleClose(socket: WebSocket, code: number): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    const replaced = code === CloseCode.REPLACED;
    if (this.state !== 'idle') {
      if (this.state === 'open') {
        this.options.stats.counters.disconnects += 1;
        this.options.stats.error(`close.${code}`);
      }
      if (replaced) this.state = 'idle';
      else this.scheduleRetry();
    }
    this.options.onClose(replaced);
  }

  private scheduleRetry(): void {
    this.state = 'waiting';
    const delayMs = backoffDelayMs(this.attempt, this.options.rng, this.options.backoff ?? DEFAULT_BACKOFF);
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      this.options.stats.counters.reconnects += 1;
      void this.open();
    }, delayMs);
  }
}

function socketErrorCode(error: Error): string {
  const status = /Unexpected server response: (\d+)/.exec(error.message)?.[1];
  if (status) return `http.${status}`;
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `socket.${code}` : 'socket';
}
