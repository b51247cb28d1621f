import { loadConfig } from '../src/config.ts';
import { openStore } from '../src/store/open-store.ts';

/** `npm run db:migrate`: applies the committed migrations; running it twice is a no-op. */
const config = loadConfig();
const store = await openStore(config);
try {
  await store.migrate();
  process.stdout.write(`migrations applied (${store.kind}${config.DATABASE_URL ? '' : `, ${config.DATA_DIR}`})\n`);
} finally {
  await store.close();
}
