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
 *               a refusal of the main app (a claim it will not take, say a required
 *               attribute the daemon cannot fill) makes the task *stuck*: it backs
 *               off longer, and the caller may look past it (onStuckChanged);
 *               global error: logged once per distinct condition, then
 *               onGlobalError decides ('retry' or 'stop')
 */
import { AbortedError, type Clock } from '../clock.js';
import { ProvisionerError, StoreError } from '../errors.js';
import type { Logger } from './logger.js';
import { errorMessage } from './reconcile-context.js';
import { retryDelay, type BackoffPolicy } from './retry-policy.js';
import type { TaskReconciler } from './task-reconciler.js';
import type { TaskResult, UnlinkedTask } from './types.js';
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
  /** Backoff for stuck tasks (the main app keeps refusing them): longer, they are not going to pass soon. */
  stuckBackoff?: BackoffPolicy;
}

export interface TaskDriverHooks {
  /** A pass finished the task for now. */
  onDone?(taskId: string, result: TaskResult): void;
  /** The task kept failing; the driver no longer works on it. */
  onGaveUp?(taskId: string, error: unknown): void;
  /** A global condition: 'retry' backs the task off as a task error; 'stop' drops it. */
  onGlobalError(taskId: string, error: ProvisionerError): 'retry' | 'stop';
  /** How many tasks are stuck changed. */
  onStuckChanged?(stuck: number): void;
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
  /** Queued tasks last seen without a database, as seen; see TaskReconciler.reconcile. */
  private readonly unlinked = new Map<string, UnlinkedTask>();
  /** Tasks the main app keeps refusing (see the header). */
  private readonly stuck = new Set<string>();
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
  offerUnlinked(task: UnlinkedTask): boolean {
    if (this.stopped || this.queue.has(task.id)) return false;
    this.unlinked.set(task.id, task);
    this.queue.add(task.id);
    return true;
  }

  /** Tasks the main app keeps refusing, backing off (the oldest unlinked tasks may be all of them). */
  get stuckTasks(): ReadonlySet<string> {
    return this.stuck;
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
    this.unlinked.clear();
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
      const unlinked = this.unlinked.get(taskId);
      this.unlinked.delete(taskId);
      const outcome = await this.deps.reconciler.reconcile(taskId, this.stopping.signal, unlinked ? { unlinked } : {});
      this.failures.delete(taskId);
      this.setStuck(taskId, false);
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
    const { maxErrorsPerTask, stuckBackoff } = this.settings;
    if (maxErrorsPerTask !== undefined && failures >= maxErrorsPerTask) {
      this.failures.delete(taskId);
      this.setStuck(taskId, false);
      this.deps.logger.error({ taskId, error: errorMessage(error) }, 'giving up on task for this run');
      return this.hooks.onGaveUp?.(taskId, error);
    }
    const refused = error instanceof StoreError && error.kind === 'rejected';
    const wasStuck = this.stuck.has(taskId);
    if (refused) this.setStuck(taskId, true);
    const retryAfterMs = error instanceof ProvisionerError ? error.retryAfterMs : undefined;
    const policy = refused && stuckBackoff ? stuckBackoff : this.settings.errorBackoff;
    const delay = retryDelay(failures, policy, this.deps.random, retryAfterMs);
    if (refused && !wasStuck) {
      this.deps.logger.warn(
        { taskId, error: errorMessage(error), retryInMs: delay },
        'the main app refuses this task; backing it off and looking past it',
      );
    } else if (!global && !refused) {
      this.deps.logger.warn({ taskId, error: errorMessage(error), retryInMs: delay }, 'reconcile failed; will retry');
    }
    this.queue.addAfter(taskId, delay);
  }

  private setStuck(taskId: string, stuck: boolean): void {
    if (stuck === this.stuck.has(taskId)) return;
    if (stuck) this.stuck.add(taskId);
    else this.stuck.delete(taskId);
    this.hooks.onStuckChanged?.(this.stuck.size);
  }
}
