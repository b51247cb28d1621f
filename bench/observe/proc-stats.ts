import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times: 100 on every Linux the hub targets. */
const CLOCK_TICKS_PER_S = 100;

export interface ProcessReading {
  cpuMs: number;
  rssBytes: number;
  /**
   * Time its main thread spent runnable but waiting for a core, from the
   * second field of /proc/<pid>/schedstat (ns): CPU contention the process
   * cannot see from inside, only as latency.
   */
  coreWaitMs: number;
}

/** Run-queue wait of a process's main thread so far, in ms; 0 on kernels without schedstats. */
function readCoreWaitMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/schedstat`, 'utf8').trim().split(' ');
    return Number(fields[1] ?? 0) / 1e6;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/** CPU time so far, run-queue wait and resident memory of a process, from /proc; null once it is gone. */
export function readProcess(pid: number): ProcessReading | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return { cpuMs: (ticks * 1000) / CLOCK_TICKS_PER_S, rssBytes: rssKb * 1024, coreWaitMs: readCoreWaitMs(pid) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export interface UsageSummary {
  /** Average CPU over the window, in % of one core. */
  cpuPercent: number;
  /** CPU time over the window, in ms of one core. */
  cpuMs: number;
  /** Time the main threads were runnable but waited for a core, in % of the window (summed over the group's processes). */
  coreWaitPercent: number;
  rssMaxBytes: number;
  rssEndBytes: number;
}

/**
 * Samples a set of processes once a second over a window: CPU is the
 * difference of their CPU times over the wall time, memory the largest and
 * the last resident size seen. Processes that exit mid-window keep the CPU
 * they had used by their last sample.
 */
export class UsageWindow {
  private readonly startedAt = performance.now();
  private readonly first = new Map<number, ProcessReading>();
  private readonly last = new Map<number, ProcessReading>();
  private rssMax = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: () => number[]) {
    for (const pid of pids()) {
      const reading = readProcess(pid);
      if (reading) this.first.set(pid, reading);
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), 1000);
  }

  finish(): UsageSummary {
    clearInterval(this.timer);
    const rssEnd = this.sample();
    const wallMs = performance.now() - this.startedAt;
    let cpuMs = 0;
    let coreWaitMs = 0;
    for (const [pid, reading] of this.last) {
      const first = this.first.get(pid) ?? reading;
      cpuMs += reading.cpuMs - first.cpuMs;
      coreWaitMs += reading.coreWaitMs - first.coreWaitMs;
    }
    const share = (ms: number) => (wallMs > 0 ? (ms / wallMs) * 100 : 0);
    return { cpuPercent: share(cpuMs), cpuMs, coreWaitPercent: share(coreWaitMs), rssMaxBytes: this.rssMax, rssEndBytes: rssEnd };
  }

  private sample(): number {
    let rss = 0;
    for (const pid of this.pids()) {
      const reading = readProcess(pid);
      if (!reading) continue;
      if (!this.first.has(pid)) this.first.set(pid, reading);
      this.last.set(pid, reading);
      rss += reading.rssBytes;
    }
    this.rssMax = Math.max(this.rssMax, rss);
    return rss;
  }
}

/** Busy and total CPU time of the whole machine so far, in clock ticks summed over cores. */
function readMachineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/**
 * How busy the whole machine was over a window, in % of one core (200% is
 * two cores flat out), whoever used it: other users' work shows up here and
 * nowhere else.
 */
export class MachineWindow {
  private readonly first = readMachineTicks();

  finish(cores: number): number {
    const last = readMachineTicks();
    const total = last.total - this.first.total;
    return total > 0 ? Math.round(((last.busy - this.first.busy) / total) * cores * 100) : 0;
  }
}
