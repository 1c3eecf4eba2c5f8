import type { Clock } from '../../src/clock.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/** Lets promise chains and I/O callbacks run to quiescence. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A clock that only moves when a test says so. */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 10, 27, 12, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(callback: () => void, ms: number): () => void {
    const timer = { at: this.time + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Pending timers, for assertions. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting work settle between them. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await settle();
      const next = this.nextDue(target);
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.at);
      next.callback();
    }
    this.time = target;
    await settle();
  }

  /**
   * Moves time to the earliest pending timer and fires it (with any others due then);
   * false, and time stays, when no timer is pending.
   */
  async advanceToNextTimer(): Promise<boolean> {
    const next = this.nextDue(Infinity);
    if (!next) return false;
    await this.advance(next.at - this.time);
    return true;
  }

  /** Advances in steps until `condition` holds; fails after `limitMs` of fake time. */
  async until(condition: () => boolean, limitMs = 600_000, stepMs = 100): Promise<void> {
    const deadline = this.time + limitMs;
    await settle();
    while (!condition()) {
      if (this.time >= deadline) throw new Error(`condition not met within ${limitMs} ms of fake time`);
      await this.advance(stepMs);
    }
  }

  private nextDue(target: number): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.timers) {
      if (timer.at > target) continue;
      if (!best || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
    }
    return best;
  }
}
