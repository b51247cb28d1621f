// The public entry for command-line tools outside the server (the simulator,
// the benchmark): what a process needs to start, read its arguments and
// settings, and stop like the hub's own commands do.

// First: on an unsupported Node this says which one to use, before any import below loads a native module.
import '../launch/check-node.ts';

export { EXIT, parseCli, runCli, UsageError } from '../launch/cli.ts';
export { applyEnvFile, EnvFileError, type EnvFileResult } from '../launch/env-file.ts';
export { envFilePath } from '../launch/settings.ts';
export { onStopSignal } from '../launch/stop-signals.ts';
