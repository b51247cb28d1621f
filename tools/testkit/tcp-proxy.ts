import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'open' | 'cut' | 'hung';

export interface TcpProxy {
  readonly port: number;
  readonly mode: ProxyMode;
  /** The target URL with host and port swapped for the proxy's. */
  url(targetUrl: string): string;
  /** Resets every connection and every new one at once: a crashed server or a refused port. */
  cut(): void;
  /** Keeps connections open but moves no byte either way: a server or network that stopped answering. */
  hang(): void;
  /** Forwards again; bytes held while hung are delivered late, as after a network partition heals. */
  restore(): void;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket;
  /** Bytes that arrived while hung, per direction, delivered on restore. */
  toUpstream: Buffer[];
  toClient: Buffer[];
}

/**
 * A TCP proxy between the hub and PostgreSQL or Redis that a test can cut
 * or hang for real, without touching the server behind it.
 */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let mode: ProxyMode = 'open';
  const links = new Set<Link>();

  const drop = (link: Link) => {
    links.delete(link);
    link.client.destroy();
    link.upstream.destroy();
  };

  const server: Server = createServer((client) => {
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    const link: Link = { client, upstream, toUpstream: [], toClient: [] };
    links.add(link);
    client.on('data', (chunk) => (mode === 'hung' ? link.toUpstream.push(chunk) : upstream.write(chunk)));
    upstream.on('data', (chunk) => (mode === 'hung' ? link.toClient.push(chunk) : client.write(chunk)));
    // Either side ending or failing ends the pair, as a real connection would.
    for (const socket of [client, upstream]) {
      socket.on('error', () => drop(link));
      socket.on('close', () => drop(link));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no address');

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    url(targetUrl) {
      const url = new URL(targetUrl);
      url.hostname = '127.0.0.1';
      url.port = String(address.port);
      return url.toString();
    },
    cut() {
      mode = 'cut';
      for (const link of [...links]) {
        links.delete(link);
        link.client.resetAndDestroy();
        link.upstream.destroy();
      }
    },
    hang() {
      mode = 'hung';
    },
    restore() {
      mode = 'open';
      for (const link of links) {
        for (const chunk of link.toUpstream.splice(0)) link.upstream.write(chunk);
        for (const chunk of link.toClient.splice(0)) link.client.write(chunk);
      }
    },
    async close() {
      for (const link of [...links]) drop(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
