/**
 * The long-running loop: feed snapshots and periodic re-reads offer task ids to
 * a keyed work queue; each key is reconciled, and the outcome decides what
 * happens to the key next. Level-triggered: events only say "look at this task";
 * the reconciler re-reads before it acts.
 *
 * States: idle → running (start) → stopping (stop: no new work, in-flight work
 * finishes until the deadline) → stopped.
 */
import { AbortedError, type Clock } from '../clock.js';
import { errorMessage, type Outcome, type TaskReconciler } from './task-reconciler.js';
import { foreignLeaseWaitMs, type LeaseSettings } from './lease.js';
import type { Logger } from './logger.js';
import type { OrphanSweeper } from './orphan-sweeper.js';
import type { Feed, Store } from './ports.js';
import { backoffDelay, type BackoffPolicy } from './retry-policy.js';
import type { DatabaseRecord } from './types.js';
import { WorkQueue } from './work-queue.js';
import { ProvisionerError } from '../errors.js';

export interface ControllerSettings {
  /** Keys reconciled at once (claims and records in flight, beyond the create cap). */
  workers: number;
  /** Size of the window of unlinked tasks and unfinished records read at a time. */
  windowSize: number;
  /** Re-read everything this often, so a lost event is never a lost task. */
  resyncIntervalMs: number;
  /** Backoff for keys whose reconcile threw (store errors and the like). */
  errorBackoff: BackoffPolicy;
  /** How this process judges leases (same values as the reconciler's). */
  lease: LeaseSettings;
}

export interface ControllerDeps {
  reconciler: TaskReconciler;
  feed: Feed;
  store: Store;
  sweeper: OrphanSweeper;
  clock: Clock;
  logger: Logger;
  random: () => number;
}

type State = 'idle' | 'running' | 'stopping' | 'stopped';

export class Controller {
  private state: State = 'idle';
  private readonly queue: WorkQueue;
  private readonly stopping = new AbortController();
  private readonly failures = new Map<string, number>();
  /** Queued tasks last seen without a database; see TaskReconciler.reconcile. */
  private readonly claimFirst = new Set<string>();
  private stopFeed: () => void = () => {};
  private cancelResync: () => void = () => {};
  private cancelLeaseCheck: () => void = () => {};
  /** Other daemons' unfinished records from the latest snapshot, to take over when their lease ends. */
  private foreignRecords: DatabaseRecord[] = [];
  private lastGlobalError: string | null = null;

  constructor(
    private readonly deps: ControllerDeps,
    private readonly settings: ControllerSettings,
  ) {
    this.queue = new WorkQueue(deps.clock, settings.workers, (taskId) => this.work(taskId));
  }

  /** Starts watching and working. Idempotent. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.stopFeed = this.deps.feed.watch(
      {
        onUnlinkedTasks: (taskIds) => this.offerUnlinked(taskIds),
        onUnfinishedRecords: (records) => this.watchRecords(records),
        onError: (error) => this.deps.logger.warn({ error: errorMessage(error) }, 'subscription error'),
      },
      this.settings.lease.owner,
    );
    void this.resync();
  }

  /**
   * Stops taking work, lets work in flight finish for at most `deadlineMs`,
   * and stops watching. Idempotent; resolves when stopped.
   */
  async stop(deadlineMs: number): Promise<{ drained: boolean }> {
    if (this.state === 'idle') this.state = 'stopped';
    if (this.state === 'stopped') return { drained: true };
    if (this.state === 'stopping') return { drained: await this.drain(deadlineMs) };
    this.state = 'stopping';
    this.stopFeed();
    this.cancelResync();
    this.cancelLeaseCheck();
    this.stopping.abort();
    this.queue.stop();
    this.claimFirst.clear();
    const drained = await this.drain(deadlineMs);
    this.state = 'stopped';
    return { drained };
  }

  /** Keys known to the queue (waiting, in flight or parked); bounded by the windows. */
  get backlog(): number {
    return this.queue.size;
  }

  private drain(deadlineMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = this.deps.clock.setTimer(() => resolve(false), deadlineMs);
      void this.queue.whenIdle().then(() => {
        cancel();
        resolve(true);
      });
    });
  }

  /** Offers tasks a read just showed without a database: their first pass may claim without reading again. */
  private offerUnlinked(taskIds: string[]): void {
    if (this.state !== 'running') return;
    for (const taskId of taskIds) {
      if (this.queue.has(taskId)) continue;
      this.claimFirst.add(taskId);
      this.queue.add(taskId);
    }
  }

  private offerTasks(taskIds: string[]): void {
    if (this.state !== 'running') return;
    for (const taskId of taskIds) this.queue.offer(taskId);
  }

  /** Our own records are in the queue already; others' are checked when their lease ends. */
  private watchRecords(records: DatabaseRecord[]): void {
    if (this.state !== 'running') return;
    this.foreignRecords = records.filter((record) => record.leaseOwner !== this.settings.lease.owner);
    this.checkLeases();
  }

  private checkLeases(): void {
    this.cancelLeaseCheck();
    const now = this.deps.clock.now();
    let next = Infinity;
    for (const record of this.foreignRecords) {
      const wait = foreignLeaseWaitMs(record, now, this.settings.lease);
      if (wait === null) this.queue.offer(record.taskId);
      else next = Math.min(next, wait);
    }
    if (next !== Infinity) this.cancelLeaseCheck = this.deps.clock.setTimer(() => this.checkLeases(), next);
  }

  private scheduleResync(ms: number): void {
    this.cancelResync = this.deps.clock.setTimer(() => void this.resync(), ms);
  }

  /** Re-reads both windows and any broken records from the store, and sweeps orphans. */
  private async resync(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      const [taskIds, records, broken] = await Promise.all([
        this.deps.store.listUnlinkedTasks(this.settings.windowSize),
        // The same window the feed watches: other daemons' records only.
        this.deps.store.listUnfinishedRecords(this.settings.windowSize, this.settings.lease.owner),
        this.deps.store.listBrokenRecords(this.settings.windowSize),
      ]);
      this.offerUnlinked(taskIds);
      this.watchRecords(records);
      this.offerTasks(broken.map((record) => record.taskId));
      this.deps.logger.debug({ tasks: taskIds.length, records: records.length, broken: broken.length }, 'resynced');
    } catch (error) {
      this.deps.logger.warn({ error: errorMessage(error) }, 'resync failed; trying again at the next interval');
    }
    await this.sweep();
    if (this.state === 'running') this.scheduleResync(this.settings.resyncIntervalMs);
  }

  private async sweep(): Promise<void> {
    try {
      await this.deps.sweeper.sweep();
    } catch (error) {
      this.deps.logger.warn({ error: errorMessage(error) }, 'orphan sweep failed; trying again at the next interval');
    }
  }

  private async work(taskId: string): Promise<void> {
    let outcome: Outcome;
    try {
      const claimFirst = this.claimFirst.delete(taskId);
      outcome = await this.deps.reconciler.reconcile(taskId, this.stopping.signal, { claimFirst });
    } catch (error) {
      if (error instanceof AbortedError) return;
      this.retryAfterError(taskId, error);
      return;
    }
    this.failures.delete(taskId);
    this.lastGlobalError = null;
    switch (outcome.kind) {
      case 'done':
        return;
      case 'retry':
        return this.queue.addAfter(taskId, outcome.afterMs);
      case 'leased':
        // Another daemon works on it; watchRecords takes it over if its lease ends.
        return;
    }
  }

  private retryAfterError(taskId: string, error: unknown): void {
    const failures = (this.failures.get(taskId) ?? 0) + 1;
    this.failures.set(taskId, failures);
    const delay = backoffDelay(failures, this.settings.errorBackoff, this.deps.random);
    const message = errorMessage(error);
    if (error instanceof ProvisionerError && error.scope === 'global') {
      // One line per distinct condition, not one per task.
      if (this.lastGlobalError !== message) this.deps.logger.error({ error: message }, 'cannot work on any task');
      this.lastGlobalError = message;
    } else {
      this.deps.logger.warn({ taskId, error: message, retryInMs: delay }, 'reconcile failed; will retry');
    }
    this.queue.addAfter(taskId, delay);
  }
}
