import '../src/launch/check-node.ts';
import { parseCli } from '../src/launch/cli.ts';
import { runConfiguredJob } from '../src/launch/configured-job.ts';

const USAGE = `usage: npm run db:migrate [-- --help]

Applies the committed migrations in drizzle/ to DATABASE_URL, or to the
embedded database in DATA_DIR when DATABASE_URL is unset. Running it twice
is a no-op; the hub also migrates at start.`;

parseCli(USAGE, {});
await runConfiguredJob(USAGE, 'finishing the migration first', async (config) => {
  // Loaded only now, so --help answers without loading the database drivers.
  const { openStore } = await import('../src/store/open-store.ts');
  const store = await openStore(config);
  try {
    await store.migrate();
    process.stdout.write(`migrations applied (${store.kind}${config.DATABASE_URL ? '' : `, ${config.DATA_DIR}`})\n`);
  } finally {
    await store.close();
  }
});
