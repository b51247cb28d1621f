import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * No Docker engine runs here, so the compose files are checked as data:
 * what `docker compose up` would start, in what order, and what it exposes.
 * Where a compose CLI exists (CI installs Debian's docker-compose), its
 * `config` checks them as well.
 */
interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  restart?: string;
  stop_grace_period?: string;
}

async function services(file: string): Promise<Record<string, Service>> {
  return (parse(await readFile(file, 'utf8'), { merge: true }) as { services: Record<string, Service> }).services;
}

/** Compose's ${NAME:-default} with nothing set in the environment. */
const withDefaults = (value: string) => value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker-compose.yml', () => {
  it('keeps PostgreSQL and Redis off the host, and publishes only the hub, on loopback by default', async () => {
    const stack = await services('docker-compose.yml');
    expect(Object.keys(stack).sort()).toEqual(['hub', 'postgres', 'redis', 'seed', 'simulator']);
    for (const name of ['postgres', 'redis', 'seed', 'simulator']) expect(stack[name]!.ports, name).toBeUndefined();
    expect(stack.hub!.ports!.map(withDefaults)).toEqual(['127.0.0.1:8080:8080']);
  });

  it('seeds a fleet before the hub starts and keeps exactly that fleet moving', async () => {
    const { seed, hub, simulator } = await services('docker-compose.yml');
    expect(seed!.command!.slice(0, 4)).toEqual(['node', '--import', 'tsx', 'scripts/seed.ts']);
    expect(seed!.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(hub!.depends_on).toMatchObject({ seed: { condition: 'service_completed_successfully' }, redis: { condition: 'service_healthy' } });
    expect(simulator!.command!.slice(0, 4)).toEqual(['node', '--import', 'tsx', 'clients/sim/cli.ts']);
    expect(simulator!.depends_on).toEqual({ hub: { condition: 'service_healthy' } });
    const flag = (command: string[], name: string) => withDefaults(command[command.indexOf(name) + 1]!);
    expect(flag(simulator!.command!, '--drivers')).toBe(flag(seed!.command!, '--drivers'));
    expect(flag(simulator!.command!, '--url')).toBe('ws://hub:8080');
    // The simulator signs its drivers' tokens with the hub's own secret.
    expect(simulator!.environment!.AUTH_SECRET).toBe(hub!.environment!.AUTH_SECRET);
    for (const name of ['seed', 'hub', 'simulator']) {
      const service = { seed, hub, simulator }[name]!;
      expect(service.image, name).toBe('dispatch-hub:local');
      for (const file of (service.command ?? []).filter((part) => part.endsWith('.ts'))) expect(existsSync(file), file).toBe(true);
    }
  });

  it('runs the hub in production with a secret long enough, and hands the page rider tokens only through the demo setting', async () => {
    const { hub } = await services('docker-compose.yml');
    const env = hub!.environment!;
    expect(env.NODE_ENV).toBe('production');
    expect(withDefaults(env.AUTH_SECRET!).length).toBeGreaterThanOrEqual(32);
    expect(withDefaults(env.DEMO_RIDER_TOKENS!)).toBe('true');
    // Longer than the hub's own SHUTDOWN_DEADLINE_MS (10 s), so `docker compose stop` lets the drain finish.
    expect(hub!.stop_grace_period).toBe('15s');
  });

  it('publishes PostgreSQL and Redis on loopback only when docker-compose.ports.yml is added', async () => {
    const extra = await services('docker-compose.ports.yml');
    expect(extra.postgres!.ports!.map(withDefaults)).toEqual(['127.0.0.1:5432:5432']);
    expect(extra.redis!.ports!.map(withDefaults)).toEqual(['127.0.0.1:6379:6379']);
    expect(await readFile('scripts/ensure-services.ts', 'utf8')).toContain("'-f', 'docker-compose.yml', '-f', 'docker-compose.ports.yml'");
  });
});

/** `docker compose` (the plugin) or `docker-compose` (Debian's package), whichever this machine has. */
function composeCli(): string[] | undefined {
  for (const cli of [['docker', 'compose'], ['docker-compose']]) {
    if (spawnSync(cli[0]!, [...cli.slice(1), 'version'], { stdio: 'ignore' }).status === 0) return cli;
  }
  return undefined;
}

/** A published port as `host_ip:published:target`, from either CLI's spelling. */
function portSpec(port: string | { host_ip?: string; published: string | number; target: number }): string {
  return typeof port === 'string' ? port.replace(/\/tcp$/, '') : `${port.host_ip ?? '0.0.0.0'}:${port.published}:${port.target}`;
}

const compose = composeCli();

describe.skipIf(!compose)('the compose CLI', () => {
  /** `config` over `files` with nothing set in the environment: the resolved services, or the CLI's complaint. */
  function resolve(files: string[]): Record<string, { ports?: Parameters<typeof portSpec>[0][] }> {
    const [command, ...prefix] = compose!;
    const run = spawnSync(command!, [...prefix, ...files.flatMap((file) => ['-f', file]), 'config'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    expect(run.status, run.stderr).toBe(0);
    return (parse(run.stdout) as { services: ReturnType<typeof resolve> }).services;
  }

  it('accepts docker-compose.yml, alone and with the ports file, publishing what the tests above expect', () => {
    const alone = resolve(['docker-compose.yml']);
    expect(Object.keys(alone).sort()).toEqual(['hub', 'postgres', 'redis', 'seed', 'simulator']);
    expect(alone.hub!.ports!.map(portSpec)).toEqual(['127.0.0.1:8080:8080']);
    expect(alone.postgres!.ports).toBeUndefined();
    expect(alone.redis!.ports).toBeUndefined();
    const withPorts = resolve(['docker-compose.yml', 'docker-compose.ports.yml']);
    expect(withPorts.postgres!.ports!.map(portSpec)).toEqual(['127.0.0.1:5432:5432']);
    expect(withPorts.redis!.ports!.map(portSpec)).toEqual(['127.0.0.1:6379:6379']);
  }, 60_000);
});

describe('Dockerfile', () => {
  it('runs node itself (no relaying launcher) on Node 20, and copies what the services run', async () => {
    const dockerfile = await readFile('Dockerfile', 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", "src\/main\.ts"\]$/m);
    for (const dir of ['src', 'clients', 'scripts', 'web-demo', 'drizzle']) expect(dockerfile).toMatch(new RegExp(`^COPY ${dir} \\./${dir}$`, 'm'));
  });
});
