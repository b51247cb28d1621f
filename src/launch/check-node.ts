import { nodeVersionProblem } from './node-version.ts';

/**
 * Imported first by every entry point, before anything loads uWebSockets.js:
 * on an unsupported Node the native binary is missing and the failure would
 * otherwise be a stack trace deep inside a start.
 */
const problem = nodeVersionProblem(process.version);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
