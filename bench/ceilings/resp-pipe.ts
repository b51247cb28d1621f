import { connect, type Socket } from 'node:net';

/** One command in RESP, ready to write as is. */
export function encodeCommand(args: Array<string | number>): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const text = String(arg);
    parts.push(`$${Buffer.byteLength(text)}\r\n${text}\r\n`);
  }
  return Buffer.from(parts.join(''));
}

/** Offset just past one complete RESP2 value starting at `offset`, or -1 when more bytes are needed. */
function skipValue(data: Buffer, offset: number): number {
  const lineEnd = data.indexOf('\r\n', offset);
  if (lineEnd < 0) return -1;
  const type = data[offset];
  if (type === 0x2b || type === 0x2d || type === 0x3a) return lineEnd + 2; // + - :
  const size = Number(data.toString('latin1', offset + 1, lineEnd));
  if (type === 0x24) {
    // $: bulk string; $-1 is nil
    if (size < 0) return lineEnd + 2;
    const end = lineEnd + 2 + size + 2;
    return end <= data.length ? end : -1;
  }
  if (type === 0x2a) {
    // *: array of `size` values; *-1 is nil
    let cursor = lineEnd + 2;
    for (let i = 0; i < size; i++) {
      cursor = skipValue(data, cursor);
      if (cursor < 0) return -1;
    }
    return cursor;
  }
  throw new Error(`unexpected RESP type byte ${type}`);
}

export interface SaturationResult {
  replies: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
}

/**
 * A raw Redis connection that keeps a fixed number of pre-encoded commands
 * in flight for a while and counts the replies: the way to measure what
 * Redis itself sustains, with next to no client cost per command.
 */
export class RespPipe {
  private constructor(private readonly socket: Socket) {}

  static connect(url: string): Promise<RespPipe> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port || 6379), noDelay: true });
      socket.once('connect', () => resolve(new RespPipe(socket)));
      socket.once('error', reject);
    });
  }

  saturate(commands: Buffer[], depth: number, durationMs: number): Promise<SaturationResult> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      let sent = 0;
      let replies = 0;
      let errors = 0;
      let firstError: string | undefined;
      let pending: Buffer | undefined;
      let stopping = false;
      const sendNext = () => {
        this.socket.write(commands[sent % commands.length]!);
        sent += 1;
      };
      const onData = (chunk: Buffer) => {
        const data = pending ? Buffer.concat([pending, chunk]) : chunk;
        let offset = 0;
        this.socket.cork();
        for (;;) {
          if (offset >= data.length) break;
          const end = skipValue(data, offset);
          if (end < 0) break;
          if (data[offset] === 0x2d) {
            errors += 1;
            firstError ??= data.toString('utf8', offset + 1, end - 2);
          }
          replies += 1;
          offset = end;
          if (!stopping && performance.now() - started >= durationMs) stopping = true;
          if (!stopping) sendNext();
        }
        this.socket.uncork();
        pending = offset < data.length ? Buffer.from(data.subarray(offset)) : undefined;
        if (stopping && replies === sent) {
          this.socket.off('data', onData);
          this.socket.off('error', reject);
          resolve({ replies, errors, firstError, elapsedMs: performance.now() - started });
        }
      };
      this.socket.on('data', onData);
      this.socket.once('error', reject);
      this.socket.cork();
      for (let i = 0; i < depth; i++) sendNext();
      this.socket.uncork();
    });
  }

  /** Sends one command and waits for its reply. */
  async command(args: Array<string | number>): Promise<void> {
    const result = await this.saturate([encodeCommand(args)], 1, 0);
    if (result.errors > 0) throw new Error(`redis: ${result.firstError}`);
  }

  close(): void {
    this.socket.end();
  }
}
