import WebSocket from 'ws';
import { codecFor, type Encoding } from '../../src/protocol/codec.ts';
import type { ServerMessage } from '../../src/protocol/messages.ts';
import { decodeServerMessage } from '../../src/protocol/parse.ts';

export interface ReceivedMessage {
  message: ServerMessage;
  binary: boolean;
  at: number;
}

/**
 * A real WebSocket client for tests: records every frame it receives, and
 * waits for the next one that matches a predicate.
 */
export class TestClient {
  readonly received: ReceivedMessage[] = [];
  closeEvent: { code: number; reason: string } | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, binary: boolean) => {
      const message = decodeServerMessage(binary ? new Uint8Array(data) : data.toString('utf8'));
      this.received.push({ message, binary, at: Date.now() });
      this.notify();
    });
    socket.on('close', (code, reason) => {
      this.closeEvent = { code, reason: reason.toString() };
      this.notify();
    });
  }

  static connect(url: string, options: WebSocket.ClientOptions = {}, protocols: string[] = []): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, protocols, options);
      const client = new TestClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
      socket.once('unexpected-response', (_request, response) => reject(new Error(`upgrade refused: HTTP ${response.statusCode}`)));
    });
  }

  send(message: object, encoding: Encoding = 'json'): void {
    const payload = codecFor(encoding).encode(message);
    this.socket.send(payload, { binary: encoding === 'msgpack' });
  }

  sendRaw(payload: Buffer | string, binary: boolean): void {
    this.socket.send(payload, { binary });
  }

  /** Resolves with the first received message (from `from` on) matching the predicate. */
  async waitFor<T extends ServerMessage>(predicate: (message: ServerMessage) => boolean, timeoutMs = 10_000, from = 0): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find((entry) => predicate(entry.message));
      if (found) return found.message as T;
      if (this.closeEvent) throw new Error(`socket closed (${this.closeEvent.code} ${this.closeEvent.reason}) while waiting`);
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`timed out waiting; received: ${JSON.stringify(this.received.slice(-5).map((entry) => entry.message))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  waitForClose(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    if (this.closeEvent) return Promise.resolve(this.closeEvent);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.socket.once('close', (code, reason) => {
        clearTimeout(timer);
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  close(): void {
    this.socket.close();
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
