/**
 * One pause shared by every request of a run (all copies of a backup, say): when a server answers
 * 429, every request to it waits out the time it asked for, not only the one that got the 429.
 */
import { sleep, type Clock } from '../clock.js';

export class RatePause {
  private until = 0;

  constructor(private readonly clock: Clock) {}

  /** Holds requests back until `ms` from now (a later pause wins over an earlier one). */
  pauseFor(ms: number): void {
    this.until = Math.max(this.until, this.clock.now() + ms);
  }

  /** Resolves once no pause is in force; rejects with AbortedError when `signal` aborts first. */
  async wait(signal: AbortSignal): Promise<void> {
    for (let left = this.until - this.clock.now(); left > 0; left = this.until - this.clock.now())
      await sleep(this.clock, left, signal);
  }
}
