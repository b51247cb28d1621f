import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { EXIT } from '../src/launch/cli.ts';
import type { Command } from './tool-command.ts';

/**
 * Runs one command with this terminal and resolves with its exit code (128
 * plus the signal's number when a signal ended it, as a shell reports it).
 * Meanwhile this process outlives SIGINT and SIGTERM, so that it can exit
 * with the tool's code: the terminal's Ctrl-C reaches the whole process
 * group, the tool included, so SIGINT is only noted; a SIGTERM may have been
 * sent to this process alone, so it is passed on to the tool.
 */
export function runCommand(command: Command): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command.file, command.args, { stdio: 'inherit' });
    const keepRunning = () => undefined;
    const passOn = () => child.kill('SIGTERM');
    process.on('SIGINT', keepRunning);
    process.on('SIGTERM', passOn);
    const finish = (code: number) => {
      process.off('SIGINT', keepRunning);
      process.off('SIGTERM', passOn);
      resolve(code);
    };
    child.once('error', (error) => {
      process.stderr.write(`could not run ${command.file}: ${error.message} (npm ci installs the tools)\n`);
      finish(EXIT.failed);
    });
    child.once('exit', (code, signal) => finish(signal ? 128 + constants.signals[signal] : (code ?? EXIT.failed)));
  });
}
