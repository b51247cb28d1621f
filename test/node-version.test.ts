import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem, SUPPORTED_NODE } from '../src/launch/node-version.ts';

describe('the supported Node version', () => {
  it('is the same in engines, .nvmrc, the README and the start-up check', async () => {
    const { engines } = JSON.parse(await readFile('package.json', 'utf8')) as { engines: { node: string } };
    expect(engines.node).toBe(`>=${SUPPORTED_NODE.major}.${SUPPORTED_NODE.minMinor} <${SUPPORTED_NODE.major + 1}`);
    expect((await readFile('.nvmrc', 'utf8')).trim()).toBe(String(SUPPORTED_NODE.major));
    expect(await readFile('README.md', 'utf8')).toContain(`Node ${SUPPORTED_NODE.major} (${SUPPORTED_NODE.major}.${SUPPORTED_NODE.minMinor} or later`);
    expect(nodeVersionProblem(process.version)).toBeNull();
  });

  it('refuses anything else in one line that says which Node to use', () => {
    for (const version of ['v18.20.4', 'v20.11.1', 'v22.12.0', 'v24.1.0']) {
      expect(nodeVersionProblem(version)).toBe(
        `dispatch-hub needs Node 20 (20.12 or a later 20.x), but this is Node ${version.slice(1)}: switch with \`nvm use\` (reads .nvmrc) or install Node 20 from https://nodejs.org`,
      );
    }
    expect(nodeVersionProblem('v20.12.0')).toBeNull();
  });
});
