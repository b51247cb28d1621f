import { signToken } from '../src/auth/tokens.ts';
import { loadConfig } from '../src/config.ts';
import { HubError } from '../src/protocol/errors.ts';
import { cliArgs } from './cli-args.ts';

/**
 * `npm run token -- --role driver --id 42 [--ttl 1h]`: prints a token signed
 * with AUTH_SECRET on stdout, for development and tests. `--ttl` takes a
 * number of seconds or a span like 90s, 15m, 1h, 7d.
 */
const args = cliArgs({ role: '', id: '', ttl: '1h' });

function fail(message: string): never {
  process.stderr.write(`${message}\nusage: npm run token -- --role driver|rider|operator --id ID [--ttl 1h]\n`);
  process.exit(2);
}

if (args.role !== 'driver' && args.role !== 'rider' && args.role !== 'operator') fail('--role must be driver, rider or operator');
if (!args.id) fail('--id is required');
const secret = loadConfig().AUTH_SECRET;
if (!secret) fail('AUTH_SECRET is not set: a hub without it runs open and takes no tokens');
const ttl = /^[0-9]+$/.test(args.ttl) ? Number(args.ttl) : args.ttl;

try {
  process.stdout.write(`${await signToken({ role: args.role, subject: args.id, ttl, secret })}\n`);
} catch (error) {
  if (error instanceof HubError || error instanceof TypeError) fail(error.message);
  throw error;
}
