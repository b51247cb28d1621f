import { parseArgs } from 'node:util';

/** Parses `--name value` flags with defaults, failing with one readable line on anything unknown. */
export function cliArgs<T extends Record<string, string>>(defaults: T): T {
  const options = Object.fromEntries(Object.keys(defaults).map((name) => [name, { type: 'string' as const }]));
  try {
    const { values } = parseArgs({ options, allowPositionals: false });
    return { ...defaults, ...(values as Partial<T>) };
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nflags: ${Object.keys(defaults).map((name) => `--${name}`).join(' ')}\n`);
    process.exit(2);
  }
}

export function positiveInt(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    process.stderr.write(`--${name} must be a non-negative integer, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}
