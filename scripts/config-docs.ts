import { readFile, writeFile } from 'node:fs/promises';
import { configTableMarkdown, envExample } from '../src/config-docs.ts';

/** `npm run config:docs`: rewrites the README configuration table and .env.example from src/config.ts. */
export const TABLE_START = '<!-- config-table:start -->';
export const TABLE_END = '<!-- config-table:end -->';

const readme = await readFile('README.md', 'utf8');
const start = readme.indexOf(TABLE_START);
const end = readme.indexOf(TABLE_END);
if (start < 0 || end < start) {
  process.stderr.write(`README.md has no ${TABLE_START} … ${TABLE_END} block\n`);
  process.exit(1);
}
await writeFile('README.md', `${readme.slice(0, start + TABLE_START.length)}\n${configTableMarkdown()}\n${readme.slice(end)}`);
await writeFile('.env.example', envExample());
process.stdout.write('README.md configuration table and .env.example regenerated\n');
