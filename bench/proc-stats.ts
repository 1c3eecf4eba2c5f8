/**
 * What a process costs, read from Linux's /proc: resident memory (VmRSS now, VmHWM the kernel's
 * own peak) and CPU time (utime + stime, in clock ticks).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Clock ticks per second (`getconf CLK_TCK`), almost always 100. */
export const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcSample {
  rssBytes: number;
  /** The kernel's peak RSS since the process started. */
  peakRssBytes: number;
  /** User + system CPU time since the process started. */
  cpuMs: number;
}

/** One reading; null once the process is gone. */
export function readProc(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at the state, field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15
    return {
      rssBytes: kib(status, 'VmRSS') * 1024,
      peakRssBytes: kib(status, 'VmHWM') * 1024,
      cpuMs: (ticks * 1000) / CLOCK_TICKS,
    };
  } catch {
    return null;
  }
}

function kib(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

/**
 * Samples a process every `everyMs`, remembering the last reading; the peak RSS comes from
 * the kernel (VmHWM), so short spikes between samples are not missed.
 */
export class ProcSampler {
  private last: ProcSample | null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    everyMs = 250,
  ) {
    this.last = readProc(pid);
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  /** Reads now (if the process still exists) and returns the latest reading. */
  sample(): ProcSample {
    this.last = readProc(this.pid) ?? this.last;
    return this.last ?? { rssBytes: 0, peakRssBytes: 0, cpuMs: 0 };
  }

  stop(): ProcSample {
    const last = this.sample();
    clearInterval(this.timer);
    return last;
  }
}
