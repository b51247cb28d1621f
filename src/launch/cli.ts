import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError } from '../config.ts';
import { WorkersNeedSharedStoresError } from './worker-errors.ts';
import { explainStartupFailure, type StartupContext } from './startup-errors.ts';

/** The options a command accepts, as node's parseArgs takes them. */
export type CliOptions = NonNullable<ParseArgsConfig['options']>;

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
export type CliValues<O extends CliOptions> = ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'];

export function parseCli<const O extends CliOptions>(usage: string, options: O, argv: string[] = process.argv.slice(2)): CliValues<O> {
  return parseCliArgs(usage, { options, allowPositionals: false }, argv).values as CliValues<O>;
}

/** What parseCliArgs returns: the options, and the positionals (always empty unless allowed). */
export interface CliArgs {
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  positionals: string[];
}

/**
 * Node's words for what was wrong, without its advice to pass an unknown
 * option after `--` as a positional: our commands refuse those too.
 */
function usageProblem(error: Error & { code?: string }): string {
  return error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? (error.message.split('. To specify')[0] ?? error.message) : error.message;
}

/**
 * parseCli for a command that may also take positionals (files, filters):
 * one given where none is allowed is refused like an unknown option.
 */
export function parseCliArgs(usage: string, config: { options: CliOptions; allowPositionals: boolean }, argv: string[] = process.argv.slice(2)): CliArgs {
  let parsed: CliArgs;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...config.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: config.allowPositionals,
    });
  } catch (error) {
    process.stderr.write(`${usageProblem(error as Error & { code?: string })}\n\n${usage}\n`);
    process.exit(EXIT.usage);
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    process.exit(EXIT.ok);
  }
  delete parsed.values.help;
  return parsed;
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
