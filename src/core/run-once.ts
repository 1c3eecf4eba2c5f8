/**
 * `reconcile --once`: works through every task without a database and every
 * unfinished record present at start, reading in pages so memory stays bounded,
 * then sweeps orphans and reports a summary.
 *
 * Detached records are retired when their grace is over; those still within
 * it are left for later (a run does not wait out a grace period).
 *
 * "Present at start" means up to the newest unlinked task at start (the
 * boundary). Pages are read oldest first, so once the boundary has been seen
 * nothing older can be missing, and anything newer is left for the daemon.
 * A global condition (a rejected token, app creation disabled) ends the run.
 */
import { AbortedError, type Clock } from '../clock.js';
import { ProvisionerError } from '../errors.js';
import type { CreateGate } from './create-gate.js';
import type { Logger } from './logger.js';
import type { OrphanSweeper } from './create-paths/orphan-sweeper.js';
import type { Store } from './ports.js';
import type { LeaseSettings } from './lease.js';
import { errorMessage } from './reconcile-context.js';
import { detachedWaitMs, isRetiring, type RetirementPolicy } from './retirement.js';
import type { BackoffPolicy } from './retry-policy.js';
import { TaskDriver } from './task-driver.js';
import type { TaskReconciler } from './task-reconciler.js';
import type { TaskResult, UnlinkedTask } from './types.js';

export interface OnceSummary {
  ready: number;
  failed: number;
  skipped: number;
  orphansDeleted: number;
  elapsedMs: number;
  /** Why the run ended early, if it did. */
  abortedBy: string | null;
}

/**
 * How far a run has got. `total` is what the run knows of so far: it grows while
 * pages are still being read (`discovering`), then stays put.
 */
export interface OnceProgress {
  done: number;
  total: number;
  discovering: boolean;
}

export type OnceProgressListener = (progress: OnceProgress) => void;

export interface RunOnceDeps {
  reconciler: TaskReconciler;
  store: Store;
  gate: CreateGate;
  /** The server-id path's sweep for apps no record holds; null on the chosen-id path, which leaves none. */
  sweeper: OrphanSweeper | null;
  clock: Clock;
  logger: Logger;
  random: () => number;
}

export interface RunOnceSettings {
  workers: number;
  pageSize: number;
  errorBackoff: BackoffPolicy;
  /** A task whose reconcile throws this many times in a row counts as failed. */
  maxErrorsPerTask: number;
  lease: LeaseSettings;
  retirement: RetirementPolicy;
}

export function runOnce(
  deps: RunOnceDeps,
  settings: RunOnceSettings,
  signal: AbortSignal,
  onProgress: OnceProgressListener = () => {},
): Promise<OnceSummary> {
  return new OnceRun(deps, settings, onProgress).run(signal);
}

class OnceRun {
  private readonly summary: OnceSummary = {
    ready: 0,
    failed: 0,
    skipped: 0,
    orphansDeleted: 0,
    elapsedMs: 0,
    abortedBy: null,
  };
  private readonly driver: TaskDriver;
  /** Tasks offered and not finished. */
  private readonly pending = new Set<string>();
  /** Tasks this run is done with that later pages may still list (skipped, or given up on); kept out of them. */
  private readonly leftBehind = new Set<string>();
  private wake: () => void = () => {};
  private done = 0;
  private discovering = true;

  constructor(
    private readonly deps: RunOnceDeps,
    private readonly settings: RunOnceSettings,
    private readonly onProgress: OnceProgressListener,
  ) {
    this.driver = new TaskDriver(
      deps,
      {
        workers: settings.workers,
        errorBackoff: settings.errorBackoff,
        // A record another daemon holds is waited for: it may have died.
        parkLeased: true,
        maxErrorsPerTask: settings.maxErrorsPerTask,
      },
      {
        onDone: (taskId, result) => this.finish(taskId, result),
        onGaveUp: (taskId) => {
          this.leftBehind.add(taskId);
          this.finish(taskId, 'failed');
        },
        onGlobalError: (_taskId, error) => {
          this.abort(errorMessage(error));
          return 'stop';
        },
      },
    );
  }

  async run(signal: AbortSignal): Promise<OnceSummary> {
    const startedAt = this.deps.clock.now();
    const onInterrupt = () => this.abort('interrupted');
    signal.addEventListener('abort', onInterrupt, { once: true });
    const stopWatchingGate = this.deps.gate.onBlocked((error) => this.abort(error.message));
    try {
      if (signal.aborted) this.abort('interrupted');
      await this.workThroughTasks();
      await this.workThroughRecords();
      this.discovering = false;
      this.reportProgress();
      if (!this.summary.abortedBy) await this.sweep();
    } catch (error) {
      if (error instanceof ProvisionerError && error.scope === 'global') this.abort(errorMessage(error));
      else if (!(error instanceof AbortedError)) throw error;
    } finally {
      signal.removeEventListener('abort', onInterrupt);
      stopWatchingGate();
      this.driver.stop();
      // Creates already sent finish and are recorded; only waits are cut short.
      await this.driver.whenIdle();
    }
    this.summary.elapsedMs = this.deps.clock.now() - startedAt;
    return this.summary;
  }

  private async workThroughTasks(): Promise<void> {
    const boundary = await this.deps.store.newestUnlinkedTask();
    let boundarySeen = boundary === null;
    while (!boundarySeen && !this.summary.abortedBy) {
      const page = await this.deps.store.listUnlinkedTasks(this.settings.pageSize + this.leftBehind.size);
      let offered = 0;
      for (const task of page) {
        if (this.offer(task.id, task)) offered++;
        if (task.id === boundary) {
          boundarySeen = true;
          break;
        }
      }
      // Nothing new and nothing in flight: the boundary task was deleted meanwhile.
      if (offered === 0 && this.pending.size === 0) boundarySeen = true;
      if (!boundarySeen) await this.until(() => this.pending.size <= this.settings.pageSize / 2);
    }
    await this.until(() => this.pending.size === 0);
  }

  private async workThroughRecords(): Promise<void> {
    while (!this.summary.abortedBy) {
      const limit = this.settings.pageSize + this.leftBehind.size;
      const [unfinished, broken, detached, refused] = await Promise.all([
        this.deps.store.listUnfinishedRecords(limit),
        this.deps.store.listBrokenRecords(limit),
        this.deps.store.listDetachedRecords(limit),
        this.deps.store.listRefusedRecords(limit),
      ]);
      // Detached records are retired only once their grace is over (or a retirement is under way).
      const now = this.deps.clock.now();
      const { lease, retirement } = this.settings;
      const due = detached.filter(
        (record) => isRetiring(record) || detachedWaitMs(record, now, retirement, lease) === 0,
      );
      let offered = 0;
      for (const record of [...unfinished, ...broken, ...due, ...refused]) if (this.offer(record.taskId)) offered++;
      if (offered === 0) break;
      await this.until(() => this.pending.size === 0);
    }
  }

  /** Orphans are a tidy-up: a sweep that fails is logged and left to the next run or the daemon. */
  private async sweep(): Promise<void> {
    try {
      this.summary.orphansDeleted = (await this.deps.sweeper?.sweep()) ?? 0;
    } catch (error) {
      if (error instanceof ProvisionerError && error.scope === 'global') throw error;
      this.deps.logger.warn(
        { error: errorMessage(error) },
        'orphan sweep failed; the next run or the daemon tries again',
      );
    }
  }

  /** Queues a task once; with `unlinked`, the task as a read just showed it without a database (its first pass may claim at once). */
  private offer(taskId: string, unlinked?: UnlinkedTask): boolean {
    if (this.summary.abortedBy || this.pending.has(taskId) || this.leftBehind.has(taskId)) return false;
    this.pending.add(taskId);
    this.reportProgress();
    if (unlinked) this.driver.offerUnlinked(unlinked);
    else this.driver.offer(taskId);
    return true;
  }

  private finish(taskId: string, result: TaskResult): void {
    this.pending.delete(taskId);
    this.summary[result]++;
    this.done++;
    this.reportProgress();
    if (result === 'skipped') this.leftBehind.add(taskId);
    this.wake();
  }

  private reportProgress(): void {
    this.onProgress({ done: this.done, total: this.done + this.pending.size, discovering: this.discovering });
  }

  private abort(reason: string): void {
    if (this.summary.abortedBy) return;
    this.summary.abortedBy = reason;
    this.driver.stop();
    this.wake();
  }

  /** Waits until `condition` holds or the run is aborted; re-checked whenever a task finishes. */
  private async until(condition: () => boolean): Promise<void> {
    while (!condition() && !this.summary.abortedBy) {
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
