/**
 * The Node versions the hub runs on. uWebSockets.js ships native binaries per
 * Node ABI, and the build this project pins has none past Node 20; `.env`
 * parsing needs 20.12. Keep in step with `engines` in package.json and .nvmrc.
 */
export const SUPPORTED_NODE = { major: 20, minMinor: 12 } as const;

/** One line saying which Node to use, or null when this one is supported. */
export function nodeVersionProblem(version: string): string | null {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (major === SUPPORTED_NODE.major && minor >= SUPPORTED_NODE.minMinor) return null;
  return (
    `dispatch-hub needs Node ${SUPPORTED_NODE.major} (${SUPPORTED_NODE.major}.${SUPPORTED_NODE.minMinor} or a later ${SUPPORTED_NODE.major}.x), ` +
    `but this is Node ${version.replace(/^v/, '')}: switch with \`nvm use\` (reads .nvmrc) or install Node ${SUPPORTED_NODE.major} from https://nodejs.org`
  );
}
