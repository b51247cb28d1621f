import '../src/launch/check-node.ts';
import { signToken } from '../src/auth/tokens.ts';
import { parseCli, runCli, UsageError } from '../src/launch/cli.ts';
import { loadSettings } from '../src/launch/settings.ts';
import { HubError } from '../src/protocol/errors.ts';

const USAGE = `usage: npm run token -- --role driver|rider|operator --id ID [--ttl 1h]

Prints an access token signed with AUTH_SECRET (from the environment or
.env), for development and tests. --ttl takes seconds or a span like 90s,
15m, 1h, 7d.`;

const args = parseCli(USAGE, { role: { type: 'string' }, id: { type: 'string' }, ttl: { type: 'string', default: '1h' } });

process.exit(
  await runCli(USAGE, async () => {
    const { role, id, ttl } = args;
    if (role !== 'driver' && role !== 'rider' && role !== 'operator') throw new UsageError('--role must be driver, rider or operator');
    if (!id) throw new UsageError('--id is required');
    const secret = loadSettings().config.AUTH_SECRET;
    if (!secret) {
      process.stderr.write('AUTH_SECRET is not set: a hub without it runs open and takes no tokens (set it in the environment or .env)\n');
      return 1;
    }
    try {
      process.stdout.write(`${await signToken({ role, subject: id, ttl: /^[0-9]+$/.test(ttl) ? Number(ttl) : ttl, secret })}\n`);
    } catch (error) {
      if (error instanceof HubError || error instanceof TypeError) throw new UsageError(error.message);
      throw error;
    }
  }),
);
