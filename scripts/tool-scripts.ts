import type { CliOptions } from '../src/launch/cli.ts';
import { ourScript, tool, type Command } from './tool-command.ts';

/** A package.json script that runs a tool, with our command line in front of it (scripts/tool.ts). */
export interface ToolScript {
  /** Printed for --help, and under a refused argument. */
  usage: string;
  /** The options it accepts, for node's parseArgs; any other is refused before the tool runs. */
  options: CliOptions;
  /** Whether it takes positionals (files, filters) too. */
  positionals: boolean;
  /** What it runs, in order, stopping at the first that fails: given the accepted options spelled for the tool and the positionals. */
  commands(given: { options: string[]; positionals: string[] }): Command[];
}

/** The files a tool works on: those given, or the whole repository. */
const orEverything = (positionals: string[]) => (positionals.length > 0 ? positionals : ['.']);

export const TOOL_SCRIPTS: Record<string, ToolScript> = {
  test: {
    usage: `usage: npm test [-- [filters...] [options]]

Runs the test suite with vitest, once PostgreSQL and Redis are reachable
(scripts/ensure-services.ts starts them when they are not). Filters keep the
test files whose path contains one of them: npm test -- test/config.test.ts.

  -t, --testNamePattern <pattern>  only the tests whose full name matches
  --reporter <name>                vitest's reporter: default, dot, verbose, ...; may repeat
  --bail <n>                       stop once n tests have failed
  --retry <n>                      retry a failing test up to n times

vitest's own options: npx vitest --help.`,
    options: {
      testNamePattern: { type: 'string', short: 't' },
      reporter: { type: 'string', multiple: true },
      bail: { type: 'string' },
      retry: { type: 'string' },
    },
    positionals: true,
    commands: ({ options, positionals }) => [ourScript('scripts/ensure-services.ts'), tool('vitest', 'run', ...options, ...positionals)],
  },

  typecheck: {
    usage: `usage: npm run typecheck [-- --help]

Checks the TypeScript with tsc: the hub, clients, benchmark, scripts and
tests (tsconfig.json), then the map demo (web-demo/tsconfig.json). Stops at
the first that fails, with tsc's exit code.

tsc's own options: npx tsc --help.`,
    options: {},
    positionals: false,
    commands: () => [tool('tsc', '--noEmit', '-p', 'tsconfig.json'), tool('tsc', '--noEmit', '-p', 'web-demo')],
  },

  'typecheck:k6': {
    usage: `usage: npm run typecheck:k6 [-- --help]

Checks the k6 scripts in load-tests/ with tsc against @types/k6 and the
protocol's types (load-tests/tsconfig.json).

tsc's own options: npx tsc --help.`,
    options: {},
    positionals: false,
    commands: () => [tool('tsc', '-p', 'load-tests')],
  },

  'db:generate': {
    usage: `usage: npm run db:generate [-- [--name <name>] [--custom]]

Writes a migration to drizzle/ for what changed in src/store/schema.ts since
the last one, with drizzle-kit (configured by drizzle.config.ts).

  --name <name>  the migration's name instead of a made-up one
  --custom       an empty migration, to write by hand

drizzle-kit's own options: npx drizzle-kit generate --help.`,
    options: { name: { type: 'string' }, custom: { type: 'boolean' } },
    positionals: false,
    commands: ({ options }) => [tool('drizzle-kit', 'generate', ...options)],
  },

  'lint:es': {
    usage: `usage: npm run lint:es [-- [files or directories...] [--fix]]

Runs ESLint with the type-aware rules of eslint.config.js on the files given,
or on the whole repository. Results are cached in node_modules/.cache/eslint/,
so a rerun checks only what changed.

  --fix  fix in place what ESLint can fix by itself

ESLint's own options: npx eslint --help.`,
    options: { fix: { type: 'boolean' } },
    positionals: true,
    commands: ({ options, positionals }) => [
      tool('eslint', '--cache', '--cache-strategy', 'content', '--cache-location', 'node_modules/.cache/eslint/', ...options, ...orEverything(positionals)),
    ],
  },

  'lint:deps': {
    usage: `usage: npm run lint:deps [-- [--output-type <type>]]

Checks the import boundaries of docs/architecture.md with dependency-cruiser
(the rules and why: .dependency-cruiser.cjs) over src, clients, bench, tools,
scripts, test, web-demo/src and the config files.

  --output-type <type>  the report: err (the default), err-long, text, json, dot, ...

dependency-cruiser's own options: npx depcruise --help.`,
    options: { 'output-type': { type: 'string' } },
    positionals: false,
    commands: ({ options }) => [
      tool(
        'depcruise',
        '--config',
        '.dependency-cruiser.cjs',
        ...options,
        ...['src', 'clients', 'bench', 'tools', 'scripts', 'test', 'web-demo/src', 'drizzle.config.ts', 'vitest.config.ts'],
      ),
    ],
  },

  format: {
    usage: `usage: npm run format [-- [files or globs...]]

Rewrites the files given, or the whole repository, in Prettier's format
(.prettierrc; .prettierignore lists what it leaves alone, Markdown among it).

Prettier's own options: npx prettier --help.`,
    options: {},
    positionals: true,
    commands: ({ positionals }) => [tool('prettier', '--write', ...orEverything(positionals))],
  },

  'format:check': {
    usage: `usage: npm run format:check [-- [files or globs...]]

Checks that the files given, or the whole repository, are in Prettier's
format, names those that are not and then exits 1 (npm run format rewrites
them).

Prettier's own options: npx prettier --help.`,
    options: {},
    positionals: true,
    commands: ({ positionals }) => [tool('prettier', '--check', ...orEverything(positionals))],
  },
};
