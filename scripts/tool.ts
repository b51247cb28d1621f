import '../src/launch/check-node.ts';
import { EXIT, parseCliArgs, runCli, UsageError } from '../src/launch/cli.ts';
import { runCommand } from './run-command.ts';
import { toolOptions } from './tool-command.ts';
import { TOOL_SCRIPTS } from './tool-scripts.ts';

/**
 * `node --import tsx scripts/tool.ts <script> [arguments]`: the package.json
 * scripts that run a tool (vitest, tsc, drizzle-kit, ESLint,
 * dependency-cruiser, Prettier) answer --help and refuse what they do not
 * take like our other scripts, before the tool runs, then exit with the
 * tool's code. Each one's usage, options and commands are in tool-scripts.ts.
 */
const [name = '', ...argv] = process.argv.slice(2);
const script = Object.hasOwn(TOOL_SCRIPTS, name) ? TOOL_SCRIPTS[name] : undefined;
if (!script) {
  process.stderr.write(`scripts/tool.ts: no tool script named "${name}"; there are ${Object.keys(TOOL_SCRIPTS).join(', ')}\n`);
  process.exit(EXIT.usage);
}

const { values, positionals } = parseCliArgs(script.usage, { options: script.options, allowPositionals: script.positionals }, argv);
process.exit(
  await runCli(script.usage, async () => {
    // After `--` parseArgs takes anything as a positional; the tool would read it as one of its options, unchecked.
    const dashed = positionals.find((positional) => positional.startsWith('-'));
    if (dashed !== undefined) throw new UsageError(`'${dashed}' is not a file or filter: the tool would read it as an option of its own`);
    let code: number = EXIT.ok;
    for (const command of script.commands({ options: toolOptions(values), positionals })) {
      code = await runCommand(command);
      if (code !== EXIT.ok) break;
    }
    return code;
  }),
);
