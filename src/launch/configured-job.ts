import type { Config } from '../config.ts';
import { runCli } from './cli.ts';
import { loadSettings } from './settings.ts';
import { deferStopSignals } from './stop-signals.ts';

/**
 * Runs a short command-line job on the configured stores (db:migrate,
 * db:seed, setup:redis) and exits with its code. A Ctrl-C waits for the job
 * (`whatFinishesFirst` says what it finishes; the job may check
 * `stop.requested` where it can stop cleanly), so no write is cut off
 * halfway and the pools close. The settings load inside runCli, so their
 * problems come one line each and a service that fails is named from them.
 */
export async function runConfiguredJob(
  usage: string,
  whatFinishesFirst: string,
  job: (config: Config, stop: { readonly requested: boolean }) => Promise<number | void>,
): Promise<never> {
  const stop = deferStopSignals(whatFinishesFirst);
  let config: Config | undefined;
  const code = await runCli(
    usage,
    async () => {
      config = loadSettings().config;
      return job(config, stop);
    },
    () => config,
  );
  process.exit(code);
}
