import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import pg from 'pg';
import { createClient } from 'redis';

/**
 * `npm test` runs this first: the tests need a real PostgreSQL and Redis.
 * Reachable ones are used as they are; otherwise it starts them (Docker
 * Compose when an engine runs, else the machine's own binaries), and when
 * neither works it says in one line what to install.
 */
const POSTGRES_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const INSTALL_HINT =
  'npm test needs PostgreSQL (with contrib) on 127.0.0.1:5432 and Redis on 127.0.0.1:6379: start them, or install Docker, or `apt-get install -y postgresql redis-server`';

async function postgresProblem(): Promise<string | null> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  let connected = false;
  try {
    await client.connect();
    connected = true;
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'cube'`);
    return rows[0]?.n === 1 ? null : 'PostgreSQL is up but lacks the cube extension (install postgresql-contrib)';
  } catch (error) {
    return `PostgreSQL unreachable at ${POSTGRES_URL}: ${(error as Error).message}`;
  } finally {
    if (connected) await client.end();
  }
}

async function redisProblem(): Promise<string | null> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  // Connection errors also reject connect(), which reports them; the listener only keeps them from being thrown twice.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return null;
  } catch (error) {
    return `Redis unreachable at ${REDIS_URL}: ${(error as Error).message}`;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

function run(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore', timeout: 120_000 }).status === 0;
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function dockerEngineRuns(): boolean {
  return has('docker') && run('docker', ['info']);
}

function startLocalPostgres(): boolean {
  if (!has('pg_ctlcluster') || !existsSync('/etc/postgresql')) return false;
  const versions = readdirSync('/etc/postgresql');
  return versions.some((version) => run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']));
}

function startLocalRedis(): boolean {
  return has('redis-server') && run('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', '6379', '--save', '', '--appendonly', 'no']);
}

async function waitUntilHealthy(timeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = (await postgresProblem()) ?? (await redisProblem());
    if (!problem || Date.now() > deadline) return problem;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function main(): Promise<void> {
  const [pgIssue, redisIssue] = await Promise.all([postgresProblem(), redisProblem()]);
  if (!pgIssue && !redisIssue) return;
  if (pgIssue?.includes('cube')) throw new Error(pgIssue);
  if (dockerEngineRuns()) {
    process.stdout.write('starting PostgreSQL and Redis with docker compose...\n');
    // docker-compose.yml keeps both internal; the override publishes them on loopback for the tests.
    execFileSync('docker', ['compose', '-f', 'docker-compose.yml', '-f', 'docker-compose.ports.yml', 'up', '-d', '--wait', 'postgres', 'redis'], {
      stdio: 'inherit',
    });
  } else {
    if (pgIssue && !startLocalPostgres()) throw new Error(`${pgIssue}. ${INSTALL_HINT}`);
    if (redisIssue && !startLocalRedis()) throw new Error(`${redisIssue}. ${INSTALL_HINT}`);
  }
  const problem = await waitUntilHealthy(30_000);
  if (problem) throw new Error(`${problem}. ${INSTALL_HINT}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
