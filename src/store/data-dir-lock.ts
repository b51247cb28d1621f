import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

const LOCK_FILE = 'hub.lock';
/** Directories this process holds: a lock naming our own pid but absent here was left by an earlier process that had the same pid (a restarted container). */
const heldHere = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, which still means alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Another live process holds the embedded database. */
export class DataDirInUseError extends Error {
  readonly code = 'data_dir_in_use';
  constructor(
    readonly dataDir: string,
    readonly owner: number,
  ) {
    super(`DATA_DIR ${dataDir} is in use by process ${owner} (one embedded hub per directory): stop that process, or set DATA_DIR to another directory`);
    this.name = 'DataDirInUseError';
  }
}

/**
 * PGlite takes no lock on its data directory, and two processes writing one
 * would corrupt it. A pid file guards it; a lock left by a process that no
 * longer exists (a crash) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      heldHere.add(path);
      return async () => {
        heldHere.delete(path);
        await rm(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(path, 'utf8')).trim());
      const ours = owner === process.pid;
      if ((ours && heldHere.has(path)) || (!ours && Number.isInteger(owner) && owner > 0 && processAlive(owner))) {
        throw new DataDirInUseError(dataDir, owner);
      }
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}
