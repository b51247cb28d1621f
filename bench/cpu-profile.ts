import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Self time by function, busiest first. */
  functions: Array<{ name: string; selfPercent: number }>;
  /** Self time by package or source file: where the hub's CPU goes. */
  modules: Array<{ name: string; selfPercent: number }>;
}

function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  const source = /\/(src\/.+)$/.exec(url);
  if (source) return source[1]!;
  return url.startsWith('node:') ? url : '(other)';
}

function top(map: Map<string, number>, total: number, count: number): Array<{ name: string; selfPercent: number }> {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => ({ name, selfPercent: Math.round((ms / total) * 1000) / 10 }));
}

/** Reads a V8 .cpuprofile and sums self time per function and per module. */
export async function summarizeProfile(file: string, count = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfMs.set(id, (selfMs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  }
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let total = 0;
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') continue;
    total += ms;
    const where = frame.url ? ` ${frame.url.replace(/^.*?(node_modules\/|src\/)/, '$1')}:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'}${where}`;
    functions.set(name, (functions.get(name) ?? 0) + ms);
    const module = moduleOf(frame.url, frame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + ms);
  }
  return { file, totalMs: Math.round(total), functions: top(functions, total, count), modules: top(modules, total, count) };
}

/**
 * The main thread's profile of a process that wrote its profiles at or after
 * `sinceMs`. tsx's module loader runs in a worker thread that gets a profile
 * of its own; the main thread, which does the work, writes the largest one.
 */
export async function mainThreadProfile(dir: string, pid: number, sinceMs: number): Promise<string | undefined> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.cpuprofile') && name.includes(`.${pid}.`));
  const files = await Promise.all(names.map(async (name) => ({ name, ...(await stat(join(dir, name))) })));
  const largest = files.filter((file) => file.mtimeMs >= sinceMs).sort((a, b) => b.size - a.size)[0];
  return largest ? join(dir, largest.name) : undefined;
}
