import { HubProcess } from '../../tools/testkit/hub-process.ts';

export type { HubProcess };

/** The real hub (`src/main.ts`) as a child process with test defaults under `env`; resolves once /healthz answers. */
export function startHubProcess(env: Record<string, string>, label: string): Promise<HubProcess> {
  return HubProcess.start({ env: { NODE_ENV: 'test', LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn', ...env }, label });
}

/** Ends a hub process that a test left running. */
export async function killHubProcess(hub: HubProcess | undefined): Promise<void> {
  await hub?.kill();
}
