import '../src/launch/check-node.ts';
import { spawn } from 'node:child_process';
import { EXIT, parseCli, runCli } from '../src/launch/cli.ts';

const USAGE = `usage: npm run lint [-- --help]

Runs the three lint gates and reports each, so one run shows every kind of
problem: ESLint with type-aware rules (npm run lint:es), the import
boundaries of docs/architecture.md (npm run lint:deps, dependency-cruiser)
and Prettier's format check (npm run format:check; npm run format fixes it).
Exits 1 when any gate fails.`;

const GATES = [
  { script: 'lint:es', name: 'eslint' },
  { script: 'lint:deps', name: 'import boundaries' },
  { script: 'format:check', name: 'format' },
] as const;

/** Runs one package.json script with this terminal; resolves with its exit code. */
function runScript(script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', script], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? EXIT.failed));
  });
}

parseCli(USAGE, {});
process.exit(
  await runCli(USAGE, async () => {
    const failed: string[] = [];
    for (const gate of GATES) {
      process.stdout.write(`\n== ${gate.name} (npm run ${gate.script})\n`);
      if ((await runScript(gate.script)) !== EXIT.ok) failed.push(gate.name);
    }
    if (failed.length === 0) {
      process.stdout.write('\nlint: every gate passed\n');
      return EXIT.ok;
    }
    process.stderr.write(`\nlint: failed: ${failed.join(', ')}\n`);
    return EXIT.failed;
  }),
);
