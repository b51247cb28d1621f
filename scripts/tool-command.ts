import { fileURLToPath } from 'node:url';
import type { CliArgs } from '../src/launch/cli.ts';

/** One program to run, with its arguments. */
export interface Command {
  file: string;
  args: string[];
}

const REPO_ROOT = new URL('../', import.meta.url);

/** A tool from node_modules/.bin, by its path: no npx, so nothing is fetched, and a missing install fails at once. */
export function tool(name: string, ...args: string[]): Command {
  return { file: fileURLToPath(new URL(`node_modules/.bin/${name}`, REPO_ROOT)), args };
}

/** One of our TypeScript scripts, under node with this process's own flags (its `--import tsx`). */
export function ourScript(path: string): Command {
  return { file: process.execPath, args: [...process.execArgv, fileURLToPath(new URL(path, REPO_ROOT))] };
}

/**
 * The accepted options spelled for the tool: by their long name (`-t x` is
 * vitest's `--testNamePattern=x`), a value after `=` so one that starts
 * with `-` stays a value, a repeated option repeated.
 */
export function toolOptions(values: CliArgs['values']): string[] {
  return Object.entries(values).flatMap(([name, value]) =>
    [value ?? []].flat().flatMap((one) => (typeof one === 'string' ? [`--${name}=${one}`] : one ? [`--${name}`] : [])),
  );
}
