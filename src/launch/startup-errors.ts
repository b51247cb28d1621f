import { ConfigError } from '../config.ts';
import { DataDirInUseError } from '../store/data-dir-lock.ts';
import { ListenError } from '../transport/listen.ts';
import { EnvFileError } from './env-file.ts';
import { WorkersNeedSharedStoresError, WorkerStartError } from './worker-errors.ts';

/** A service the hub or a script connects to, named by the setting that points at it. */
export interface ServiceTarget {
  setting: 'DATABASE_URL' | 'REDIS_URL';
  url: string;
  /** How long a connection attempt may take (PG_CONNECT_TIMEOUT_MS), for the timeout message. */
  connectTimeoutMs?: number;
}

/** host:port/db of a URL, never its password. */
export function describeUrl(url: string): { host: string; port: string; database: string; user: string; where: string } {
  const parsed = new URL(url);
  const postgres = parsed.protocol.startsWith('postgres');
  const host = parsed.hostname || 'localhost';
  const port = parsed.port || (postgres ? '5432' : '6379');
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  const user = decodeURIComponent(parsed.username);
  return { host, port, database, user, where: `${host}:${port}${postgres && database ? `/${database}` : ''}` };
}

/** The error, its causes, and the members of an AggregateError (Node's dual-stack connect). */
function* chain(error: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length > 0) {
    const next = queue.shift();
    if (typeof next !== 'object' || next === null || seen.has(next)) continue;
    seen.add(next);
    yield next as Record<string, unknown>;
    queue.push((next as { cause?: unknown }).cause);
    if (next instanceof AggregateError) {
      const members: readonly unknown[] = next.errors;
      queue.push(...members);
    }
  }
}

function codeOf(error: unknown): string | undefined {
  for (const link of chain(error)) if (typeof link.code === 'string') return link.code;
  return undefined;
}

function messageOf(error: unknown): string {
  for (const link of chain(error)) if (typeof link.message === 'string' && link.message) return link.message;
  return String(error);
}

/**
 * One line naming the setting and the fix for a failure to reach PostgreSQL
 * or Redis, or null when the error is something else (a bug, whose stack
 * is worth printing).
 */
export function explainConnectionFailure(error: unknown, target: ServiceTarget): string | null {
  const { host, port, database, user, where } = describeUrl(target.url);
  const service = target.setting === 'DATABASE_URL' ? 'PostgreSQL' : 'Redis';
  const code = codeOf(error);
  const message = messageOf(error);
  switch (code) {
    case 'ECONNREFUSED':
      return `${target.setting}: nothing accepts connections at ${host}:${port} (connection refused): start ${service} there, or point ${target.setting} at a running server`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${target.setting}: host "${host}" not found: fix the host name in ${target.setting}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return `${target.setting}: ${host}:${port} is unreachable (${code}): check the host, the port and any firewall in between`;
    case 'ECONNRESET':
      return `${target.setting}: ${host}:${port} closed the connection at once: is that port really ${service}?`;
    // PostgreSQL's own SQLSTATE codes.
    case '3D000':
      return `${target.setting}: database "${database}" does not exist on ${host}:${port}: create it with \`createdb -h ${host} -p ${port}${user ? ` -U ${user}` : ''} ${database}\``;
    case '28P01':
    case '28000':
      return `${target.setting}: ${host}:${port} refused user "${user}" (${message}): fix the user or password in ${target.setting}`;
    case '53300':
      return `${target.setting}: ${host}:${port} has no connection slots left (${message}): raise max_connections there or lower PG_POOL_SIZE`;
    case '57P03':
      return `${target.setting}: ${host}:${port} is still starting up: start the hub again in a few seconds`;
    case '58P01':
    case '0A000':
      return `${target.setting}: ${where} lacks the cube extension (${message}): install PostgreSQL's contrib package (e.g. \`apt-get install postgresql-contrib\`)`;
    case '42501':
      return `${target.setting}: user "${user}" may not set up ${where} (${message}): run \`npm run db:migrate\` once as a user allowed to create extensions`;
  }
  // pg reports its own connect timeout in words, without a code.
  if (/connection timeout|timeout expired|connect timeout/i.test(message)) {
    return `${target.setting}: no answer from ${host}:${port}${target.connectTimeoutMs ? ` within ${target.connectTimeoutMs} ms (PG_CONNECT_TIMEOUT_MS)` : ''}: check the host, the port and any firewall in between`;
  }
  return null;
}

export interface StartupContext {
  DATABASE_URL?: string | undefined;
  REDIS_URL?: string | undefined;
  PG_CONNECT_TIMEOUT_MS?: number;
}

/**
 * The line a user sees when a start fails: the setting to change and how.
 * Configuration problems come as several lines, one per setting. Anything
 * unrecognised is a bug and keeps its stack.
 */
export function explainStartupFailure(error: unknown, context: StartupContext | undefined): string {
  if (error instanceof ConfigError || error instanceof ListenError || error instanceof DataDirInUseError || error instanceof EnvFileError) return error.message;
  if (error instanceof WorkersNeedSharedStoresError || error instanceof WorkerStartError) return error.message;
  // At start only PostgreSQL fails a start: an unreachable Redis leaves nearby on the SQL fallback.
  if (context?.DATABASE_URL) {
    const line = explainConnectionFailure(error, { setting: 'DATABASE_URL', url: context.DATABASE_URL, connectTimeoutMs: context.PG_CONNECT_TIMEOUT_MS });
    if (line) return line;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
