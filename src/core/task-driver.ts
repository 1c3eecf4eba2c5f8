/**
 * The driver loop the daemon and `reconcile --once` share: task ids go into a
 * keyed work queue; each is reconciled, and the outcome decides what happens
 * to the key next. It remembers which queued tasks a read just showed without
 * a database (their first pass may claim at once), backs off per task after
 * errors, and reports global conditions once per distinct condition.
 *
 * Outcome → queue action:
 *   done      → the task is finished for now (onDone)
 *   retry     → queued again after `afterMs`
 *   leased    → another daemon holds it: parked until its lease ends, or dropped
 *               when the caller watches leases itself (`parkLeased: false`)
 *   throws    → task error: queued again after a growing backoff (the server's
 *               wait wins), or given up on after `maxErrorsPerTask` (onGaveUp);
 *               global error: logged once per distinct condition, then
 *               onGlobalError decides ('retry' or 'stop')
 */
import { AbortedError, type Clock } from '../clock.js';
import { ProvisionerError } from '../errors.js';
import type { Logger } from './logger.js';
import { errorMessage } from './reconcile-context.js';
import { retryDelay, type BackoffPolicy } from './retry-policy.js';
import type { TaskReconciler } from './task-reconciler.js';
import type { TaskResult } from './types.js';
import { WorkQueue } from './work-queue.js';

export interface TaskDriverSettings {
  /** Keys reconciled at once (claims and records in flight, beyond the create cap). */
  workers: number;
  /** Backoff for keys whose reconcile threw (store errors and the like). */
  errorBackoff: BackoffPolicy;
  /** Park a task whose record another daemon holds until its lease ends (else drop it). */
  parkLeased: boolean;
  /** Give up on a task after this many errors in a row (never, when absent). */
  maxErrorsPerTask?: number;
}

export interface TaskDriverHooks {
  /** A pass finished the task for now. */
  onDone?(taskId: string, result: TaskResult): void;
  /** The task kept failing; the driver no longer works on it. */
  onGaveUp?(taskId: string, error: unknown): void;
  /** A global condition: 'retry' backs the task off as a task error; 'stop' drops it. */
  onGlobalError(taskId: string, error: ProvisionerError): 'retry' | 'stop';
}

export interface TaskDriverDeps {
  reconciler: TaskReconciler;
  clock: Clock;
  logger: Logger;
  random: () => number;
}

export class TaskDriver {
  private readonly queue: WorkQueue;
  private readonly stopping = new AbortController();
  private readonly failures = new Map<string, number>();
  /** Queued tasks last seen without a database; see TaskReconciler.reconcile. */
  private readonly claimFirst = new Set<string>();
  /** The global condition last logged, so each distinct one is logged once, not once per task. */
  private lastGlobalError: string | null = null;

  constructor(
    private readonly deps: TaskDriverDeps,
    private readonly settings: TaskDriverSettings,
    private readonly hooks: TaskDriverHooks,
  ) {
    this.queue = new WorkQueue(deps.clock, settings.workers, (taskId) => this.work(taskId));
  }

  /** Queues a task a read just showed without a database, unless the queue knows it already. */
  offerUnlinked(taskId: string): boolean {
    if (this.stopped || this.queue.has(taskId)) return false;
    this.claimFirst.add(taskId);
    this.queue.add(taskId);
    return true;
  }

  /** Queues a task unless the queue knows it already (waiting, worked or parked). */
  offer(taskId: string): boolean {
    if (this.stopped || this.queue.has(taskId)) return false;
    this.queue.add(taskId);
    return true;
  }

  /** Queues a task, or marks it to run again right after the pass in flight. */
  add(taskId: string): void {
    this.queue.add(taskId);
  }

  has(taskId: string): boolean {
    return this.queue.has(taskId);
  }

  /** Keys known to the queue (waiting, in flight or parked). */
  get size(): number {
    return this.queue.size;
  }

  /** Stops taking work and cuts waits short; passes in flight finish (creates already sent are recorded). */
  stop(): void {
    this.stopping.abort();
    this.queue.stop();
    this.claimFirst.clear();
  }

  /** Resolves once no pass is waiting or running. */
  whenIdle(): Promise<void> {
    return this.queue.whenIdle();
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async work(taskId: string): Promise<void> {
    try {
      const claimFirst = this.claimFirst.delete(taskId);
      const outcome = await this.deps.reconciler.reconcile(taskId, this.stopping.signal, { claimFirst });
      this.failures.delete(taskId);
      this.lastGlobalError = null;
      switch (outcome.kind) {
        case 'done':
          return this.hooks.onDone?.(taskId, outcome.result);
        case 'retry':
          return this.queue.addAfter(taskId, outcome.afterMs);
        case 'leased':
          if (this.settings.parkLeased) this.queue.addAfter(taskId, outcome.afterMs);
          return;
      }
    } catch (error) {
      if (error instanceof AbortedError) return;
      this.afterError(taskId, error);
    }
  }

  private afterError(taskId: string, error: unknown): void {
    const global = error instanceof ProvisionerError && error.scope === 'global';
    if (global) {
      const message = errorMessage(error);
      if (this.lastGlobalError !== message) this.deps.logger.error({ error: message }, 'cannot work on any task');
      this.lastGlobalError = message;
      if (this.hooks.onGlobalError(taskId, error) === 'stop') return;
    }
    const failures = (this.failures.get(taskId) ?? 0) + 1;
    this.failures.set(taskId, failures);
    const { maxErrorsPerTask } = this.settings;
    if (maxErrorsPerTask !== undefined && failures >= maxErrorsPerTask) {
      this.failures.delete(taskId);
      this.deps.logger.error({ taskId, error: errorMessage(error) }, 'giving up on task for this run');
      return this.hooks.onGaveUp?.(taskId, error);
    }
    const retryAfterMs = error instanceof ProvisionerError ? error.retryAfterMs : undefined;
    const delay = retryDelay(failures, this.settings.errorBackoff, this.deps.random, retryAfterMs);
    if (!global) {
      this.deps.logger.warn({ taskId, error: errorMessage(error), retryInMs: delay }, 'reconcile failed; will retry');
    }
    this.queue.addAfter(taskId, delay);
  }
}
