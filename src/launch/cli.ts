import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config.ts';
import { WorkersNeedSharedStoresError } from './worker-errors.ts';
import { explainStartupFailure, type StartupContext } from './startup-errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A wrong argument, found after parsing (a number that is not one): usage and exit 2. */
export class UsageError extends Error {
  readonly code = 'usage';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes shared by the hub and every script. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/**
 * Parses the command line strictly: `--help`/`-h` prints the usage and exits
 * 0; an unknown option or a missing value prints the problem and the usage
 * and exits 2.
 */
export type CliValues<O extends Options> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

export function parseCli<const O extends Options>(usage: string, options: O, argv: string[] = process.argv.slice(2)): CliValues<O> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${usage}\n`);
    process.exit(EXIT.usage);
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(EXIT.ok);
  }
  delete values.help;
  return values as CliValues<O>;
}

/**
 * Runs a command's body and turns what went wrong into an exit code and a
 * few readable lines: a usage error (2, with the usage), configuration
 * problems (2, one line each), a service it could not reach or a port it
 * could not take (1, one line naming the setting and the fix), anything else
 * (1, with the stack: that is a bug). `context` names the services in use,
 * once the configuration is known. Returns the exit code.
 */
export async function runCli(usage: string, body: () => Promise<number | void>, context: () => StartupContext | undefined = () => undefined): Promise<number> {
  let code: number;
  try {
    code = (await body()) ?? EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n\n${usage}\n`);
      code = EXIT.usage;
    } else {
      process.stderr.write(`${explainStartupFailure(error, context())}\n`);
      code = error instanceof ConfigError || error instanceof WorkersNeedSharedStoresError ? EXIT.usage : EXIT.failed;
    }
  }
  return code;
}
