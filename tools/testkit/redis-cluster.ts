import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createClient } from 'redis';
import { freePort } from './free-port.ts';

const run = promisify(execFile);
const START_TIMEOUT_MS = 20_000;
/** Redis Cluster's bus listens on the client port plus this. */
const BUS_PORT_OFFSET = 10_000;

export interface ClusterNode {
  port: number;
  address: string;
}

export interface PrivateRedisCluster {
  /** `host:port` of every node, as REDIS_CLUSTER_NODES takes them. */
  readonly nodes: string[];
  /** The master serving a key's slot, by asking the cluster (CLUSTER KEYSLOT + CLUSTER SLOTS). */
  masterOf(key: string): Promise<ClusterNode>;
  /** SIGKILLs one node: a master dying without a replica. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port with its cluster config, empty: it rejoins and serves its slots again. */
  restart(port: number): Promise<void>;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A free port whose cluster-bus port (+10000) is free too. */
async function freeClusterPort(): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + BUS_PORT_OFFSET <= 65_535 && (await portFree(port + BUS_PORT_OFFSET))) return port;
  }
}

async function clusterOk(port: number): Promise<boolean> {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 500 } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = await client.sendCommand<string>(['CLUSTER', 'INFO']);
    return info.includes('cluster_state:ok');
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} within ${START_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A Redis Cluster of the caller's own: `masters` redis-server processes on
 * free ports, no replicas, no persistence, joined with
 * `redis-cli --cluster create`. The nodes run with
 * `cluster-require-full-coverage no` (what the hub asks of a production
 * cluster too), so a dead master takes only its own slots down, and with a
 * 5 s node timeout, so that nodes starved of CPU on a loaded machine do not
 * mark each other failed (a killed node is seen at once by its clients anyway).
 */
export async function startPrivateRedisCluster(masters = 3): Promise<PrivateRedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'hub-redis-cluster-'));
  const ports: number[] = [];
  while (ports.length < masters) {
    const port = await freeClusterPort();
    if (!ports.includes(port)) ports.push(port);
  }
  const children = new Map<number, ChildProcess>();
  const launch = async (port: number) => {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '5000',
        '--cluster-require-full-coverage',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
    children.set(port, child);
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${child.exitCode}`);
      return portFree(port).then((free) => !free);
    }, `node ${port} did not start`);
  };
  const kill = async (port: number) => {
    const child = children.get(port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  const stop = async () => {
    await Promise.all(ports.map(kill));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map(launch));
    await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: START_TIMEOUT_MS,
    });
    for (const port of ports) await waitFor(() => clusterOk(port), `node ${port} did not report cluster_state:ok`);
  } catch (error) {
    await stop();
    throw error;
  }
  const nodes = ports.map((port) => `127.0.0.1:${port}`);
  return {
    nodes,
    async masterOf(key) {
      for (const port of ports) {
        const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 500 } });
        client.on('error', () => undefined);
        try {
          await client.connect();
          const slot = Number(await client.sendCommand(['CLUSTER', 'KEYSLOT', key]));
          const ranges = await client.sendCommand<Array<[number, number, [string, number, ...unknown[]]]>>(['CLUSTER', 'SLOTS']);
          const owner = ranges.find(([first, last]) => slot >= Number(first) && slot <= Number(last));
          if (owner) return { port: Number(owner[2][1]), address: `${owner[2][0]}:${owner[2][1]}` };
        } catch {
          // A dead node cannot answer: ask the next one.
        } finally {
          if (client.isOpen) client.destroy();
        }
      }
      throw new Error(`no live node knows the master of ${key}`);
    },
    kill,
    async restart(port) {
      await launch(port);
      await waitFor(() => clusterOk(port), `node ${port} did not rejoin`);
    },
    stop,
  };
}
