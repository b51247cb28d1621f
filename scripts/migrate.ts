import '../src/launch/check-node.ts';
import type { Config } from '../src/config.ts';
import { parseCli, runCli } from '../src/launch/cli.ts';
import { loadSettings } from '../src/launch/settings.ts';
import { openStore } from '../src/store/open-store.ts';

const USAGE = `usage: npm run db:migrate [-- --help]

Applies the committed migrations in drizzle/ to DATABASE_URL, or to the
embedded database in DATA_DIR when DATABASE_URL is unset. Running it twice
is a no-op; the hub also migrates at start.`;

parseCli(USAGE, {});
let config: Config | undefined;
process.exit(
  await runCli(
    USAGE,
    async () => {
      config = loadSettings().config;
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
