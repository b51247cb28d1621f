import '../src/launch/check-node.ts';
import { readFile, writeFile } from 'node:fs/promises';
import { configTableMarkdown, envExample } from '../src/config-docs.ts';
import { parseCli, runCli } from '../src/launch/cli.ts';

const TABLE_START = '<!-- config-table:start -->';
const TABLE_END = '<!-- config-table:end -->';

const USAGE = `usage: npm run config:docs [-- --help]

Rewrites the configuration table in README.md (between ${TABLE_START} and
${TABLE_END}) and .env.example from the settings in src/config.ts.`;

parseCli(USAGE, {});
process.exit(
  await runCli(USAGE, async () => {
    const readme = await readFile('README.md', 'utf8');
    const start = readme.indexOf(TABLE_START);
    const end = readme.indexOf(TABLE_END);
    if (start < 0 || end < start) {
      process.stderr.write(`README.md has no ${TABLE_START} … ${TABLE_END} block: put the two markers where the table belongs\n`);
      return 1;
    }
    await writeFile('README.md', `${readme.slice(0, start + TABLE_START.length)}\n${configTableMarkdown()}\n${readme.slice(end)}`);
    await writeFile('.env.example', envExample());
    process.stdout.write('README.md configuration table and .env.example regenerated\n');
  }),
);
