import { createServer, type AddressInfo } from 'node:net';
import type { TemplatedApp, us_listen_socket } from './uws.ts';

/** uSockets listen flags (ListenOptions in the uWS typings, not exported at run time). */
const LIBUS_LISTEN_DEFAULT = 0;
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

export type ListenFailure = 'port_in_use' | 'port_not_permitted' | 'host_not_local' | 'host_unknown' | 'listen_failed';

/** Why the hub could not listen, as one line that names the setting to change. */
export class ListenError extends Error {
  constructor(
    readonly code: ListenFailure,
    readonly host: string,
    readonly port: number,
    message: string,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

export interface ListenOptions {
  host: string;
  port: number;
  /**
   * SO_REUSEPORT: several processes on one port, the kernel spreading
   * connections over them. Only on purpose (HUB_SHARE_PORT): otherwise a
   * second hub would silently take half the traffic of the first.
   */
  sharePort: boolean;
}

export function listen(app: TemplatedApp, options: ListenOptions): Promise<us_listen_socket> {
  const { host, port, sharePort } = options;
  const flags = sharePort ? LIBUS_LISTEN_DEFAULT : LIBUS_LISTEN_EXCLUSIVE_PORT;
  return new Promise((resolve, reject) => {
    // The typings omit the (host, port, options, cb) overload that the native module has.
    (app.listen as unknown as (host: string, port: number, flags: number, cb: (socket: us_listen_socket | false) => void) => void)(
      host,
      port,
      flags,
      (socket) => {
        if (socket) resolve(socket);
        else diagnose(options).then(reject, reject);
      },
    );
  });
}

/** Binds host:port exclusively and lets go: the port bound (PORT=0 picks one), or the error code that stopped the bind. */
function probeExclusive(host: string, port: number): Promise<{ port: number } | { code: string | null }> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve({ code: error.code ?? null }));
    probe.listen({ host, port, exclusive: true }, () => {
      const bound = (probe.address() as AddressInfo).port;
      probe.close(() => resolve({ port: bound }));
    });
  });
}

/**
 * For a supervisor about to start hub workers that share one port: the port
 * must be free before they listen together, so that sharing stays among our
 * own workers and never joins another program. Returns the port to give
 * them (PORT=0 resolves to a free one here), or throws the ListenError a
 * single hub would.
 */
export async function claimFreePort(host: string, port: number): Promise<number> {
  const probe = await probeExclusive(host, port);
  if ('port' in probe) return probe.port;
  throw explain(probe.code, { host, port, sharePort: false });
}

/**
 * uWS reports a failed listen as `false`, without the reason. The same bind
 * through Node's net module names it (EADDRINUSE, EACCES, ...).
 */
async function diagnose(options: ListenOptions): Promise<ListenError> {
  const probe = await probeExclusive(options.host, options.port);
  return explain('code' in probe ? probe.code : null, options);
}

function explain(code: string | null, { host, port, sharePort }: ListenOptions): ListenError {
  const where = `${host}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ListenError(
        'port_in_use',
        host,
        port,
        sharePort
          ? `PORT ${port} is taken on ${host} by a process that does not share it: stop that process, or give this hub another PORT`
          : `PORT ${port} is already in use on ${host} (another hub or program listens there): stop it, or set another PORT (PORT=0 picks a free one); HUB_SHARE_PORT=true shares a port between hub processes on purpose`,
      );
    case 'EACCES':
      return new ListenError(
        'port_not_permitted',
        host,
        port,
        `PORT ${port}: this user may not listen on ports below 1024 (${where}): use a PORT of 1024 or more`,
      );
    case 'EADDRNOTAVAIL':
      return new ListenError(
        'host_not_local',
        host,
        port,
        `HOST ${host} is not an address of this machine: use one of its addresses, 127.0.0.1, or 0.0.0.0 for all`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ListenError('host_unknown', host, port, `HOST ${host} does not resolve to an address: use an IP address or a name this machine resolves`);
    default:
      return new ListenError('listen_failed', host, port, `could not listen on ${where}${code ? ` (${code})` : ''}: check HOST and PORT`);
  }
}
