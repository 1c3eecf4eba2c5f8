/**
 * A keyed work queue in the manner of client-go's workqueue:
 * - a key is never worked twice at once; `add` of a key being worked marks it
 *   dirty, and it is worked once more right after, not beside;
 * - a key already waiting is not queued twice;
 * - `addAfter` parks a key until later (the earliest schedule wins);
 * - at most `concurrency` keys are worked at once, oldest first.
 * Memory is one entry per distinct key, however often it is added.
 */
import type { Clock } from '../clock.js';

export class WorkQueue {
  /** Insertion-ordered: the first key is the oldest. */
  private readonly waiting = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly parked = new Map<string, { at: number; cancel: () => void }>();
  private stopped = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly clock: Clock,
    private readonly concurrency: number,
    private readonly work: (key: string) => Promise<void>,
  ) {}

  /** Queues `key` unless it is already waiting; marks it dirty if it is being worked. */
  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    this.unpark(key);
    this.waiting.add(key);
    this.dispatch();
  }

  /** Queues `key` only if the queue does not know it at all (waiting, worked or parked). */
  offer(key: string): void {
    if (!this.has(key)) this.add(key);
  }

  /** Queues `key` after `ms`; an earlier schedule for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const existing = this.parked.get(key);
    if (existing && existing.at <= at) return;
    existing?.cancel();
    const cancel = this.clock.setTimer(() => {
      this.parked.delete(key);
      this.add(key);
    }, ms);
    this.parked.set(key, { at, cancel });
  }

  has(key: string): boolean {
    return this.waiting.has(key) || this.active.has(key) || this.parked.has(key);
  }

  /** Keys waiting, being worked, or parked. */
  get size(): number {
    return this.waiting.size + this.active.size + this.parked.size;
  }

  get activeCount(): number {
    return this.active.size;
  }

  /** Keys waiting or being worked (parked keys excluded). */
  get pendingCount(): number {
    return this.waiting.size + this.active.size;
  }

  /** Stops dispatching and forgets waiting and parked keys; keys being worked finish. */
  stop(): void {
    this.stopped = true;
    this.waiting.clear();
    this.dirty.clear();
    for (const { cancel } of this.parked.values()) cancel();
    this.parked.clear();
    this.notifyIfIdle();
  }

  /** Resolves once nothing is waiting or being worked (parked keys do not count). */
  whenIdle(): Promise<void> {
    if (this.pendingCount === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private unpark(key: string): void {
    const parked = this.parked.get(key);
    if (parked) {
      parked.cancel();
      this.parked.delete(key);
    }
  }

  private dispatch(): void {
    while (!this.stopped && this.active.size < this.concurrency && this.waiting.size > 0) {
      const key = this.waiting.values().next().value as string;
      this.waiting.delete(key);
      this.active.add(key);
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.work(key);
    } finally {
      this.active.delete(key);
      if (this.dirty.delete(key) && !this.stopped) this.waiting.add(key);
      this.dispatch();
      this.notifyIfIdle();
    }
  }

  private notifyIfIdle(): void {
    if (this.pendingCount > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
