import { fileURLToPath } from 'node:url';

/** The committed drizzle-kit migrations, shared by every database factory and `npm run db:migrate`. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Serialises concurrent migrators (two hubs starting at once) on one advisory lock. */
export const MIGRATION_LOCK_KEY = 72_100_431;
