import '../src/launch/check-node.ts';
import type { Config } from '../src/config.ts';
import { parseCli, runCli } from '../src/launch/cli.ts';
import { loadSettings } from '../src/launch/settings.ts';
import { deferStopSignals } from '../src/launch/stop-signals.ts';

const USAGE = `usage: npm run db:migrate [-- --help]

Applies the committed migrations in drizzle/ to DATABASE_URL, or to the
embedded database in DATA_DIR when DATABASE_URL is unset. Running it twice
is a no-op; the hub also migrates at start.`;

parseCli(USAGE, {});
// Short jobs: a Ctrl-C waits for them, so no write is cut off halfway and the pools close.
deferStopSignals('finishing the migration first');
let config: Config | undefined;
process.exit(
  await runCli(
    USAGE,
    async () => {
      config = loadSettings().config;
      // Loaded only now, so --help answers without loading the database drivers.
      const { openStore } = await import('../src/store/open-store.ts');
      const store = await openStore(config);
      try {
        await store.migrate();
        process.stdout.write(`migrations applied (${store.kind}${config.DATABASE_URL ? '' : `, ${config.DATA_DIR}`})\n`);
      } finally {
        await store.close();
      }
    },
    () => config,
  ),
);
