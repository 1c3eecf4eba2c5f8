/**
 * The long-running loop: feed snapshots and periodic re-reads offer task ids to
 * a keyed work queue; each key is reconciled, and the outcome decides what
 * happens to the key next. Level-triggered: events only say "look at this task";
 * the reconciler re-reads before it acts.
 *
 * States: idle → running (start) → stopping (stop: no new work, in-flight work
 * finishes until the deadline) → stopped.
 */
import type { Clock } from '../clock.js';
import { foreignLeaseWaitMs, type LeaseSettings } from './lease.js';
import type { Logger } from './logger.js';
import type { OrphanSweeper } from './create-paths/orphan-sweeper.js';
import { noTelemetry, type Feed, type FeedWatch, type Store, type Telemetry } from './ports.js';
import { errorMessage } from './reconcile-context.js';
import { detachedWaitMs, type RetirementPolicy } from './retirement.js';
import type { BackoffPolicy } from './retry-policy.js';
import { TaskDriver } from './task-driver.js';
import type { TaskReconciler } from './task-reconciler.js';
import { RETRY_REQUEST_INTERVAL_MS } from './owner-phase.js';
import type { DatabaseRecord, UnlinkedTask } from './types.js';

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
  retirement: RetirementPolicy;
}

export interface ControllerDeps {
  reconciler: TaskReconciler;
  feed: Feed;
  store: Store;
  /** The server-id path's sweep for apps no record holds; null on the chosen-id path, which leaves none. */
  sweeper: OrphanSweeper | null;
  clock: Clock;
  logger: Logger;
  random: () => number;
  telemetry?: Telemetry;
}

/** The task window grows past stuck tasks by at most this many times its size. */
const MAX_WINDOW_GROWTH = 10;
/** It grows in steps of this many tasks, so a few stuck tasks more or less do not resubscribe. */
const WINDOW_STEP = 64;

type State = 'idle' | 'running' | 'stopping' | 'stopped';

export class Controller {
  private state: State = 'idle';
  private readonly driver: TaskDriver;
  private feedWatch: FeedWatch | null = null;
  /** How many of the oldest unlinked tasks are watched: the window, plus room past stuck tasks. */
  private taskWindow: number;
  private cancelResync: () => void = () => {};
  private cancelDueCheck: () => void = () => {};
  /** Records from the latest snapshots that need work at some time: others' leases, task gone, detached, retry requests. */
  private watched: { unfinished: DatabaseRecord[]; detached: DatabaseRecord[]; retries: DatabaseRecord[] } = {
    unfinished: [],
    detached: [],
    retries: [],
  };

  constructor(
    private readonly deps: ControllerDeps,
    private readonly settings: ControllerSettings,
  ) {
    this.taskWindow = settings.windowSize;
    this.driver = new TaskDriver(
      deps,
      {
        workers: settings.workers,
        errorBackoff: settings.errorBackoff,
        stuckBackoff: { baseMs: settings.errorBackoff.baseMs, maxMs: settings.errorBackoff.maxMs * 10 },
        parkLeased: false,
      },
      // The daemon never gives up: a global condition is retried with backoff until someone fixes it.
      { onGlobalError: () => 'retry', onStuckChanged: (stuck) => this.stuckChanged(stuck) },
    );
  }

  /** Starts watching and working. Idempotent. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'running';
    this.feedWatch = this.deps.feed.watch(
      {
        onUnlinkedTasks: (tasks) => this.offerUnlinked(tasks),
        onUnfinishedRecords: (records) => this.watchRecords({ unfinished: records }),
        onDetachedRecords: (records) => this.watchRecords({ detached: records }),
        onRetryRequests: (records) => this.watchRecords({ retries: records }),
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
    this.feedWatch?.stop();
    this.cancelResync();
    this.cancelDueCheck();
    this.driver.stop();
    const drained = await this.drain(deadlineMs);
    this.state = 'stopped';
    return { drained };
  }

  /** Keys known to the queue (waiting, in flight or parked); bounded by the windows. */
  get backlog(): number {
    return this.driver.size;
  }

  private drain(deadlineMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const cancel = this.deps.clock.setTimer(() => resolve(false), deadlineMs);
      void this.driver.whenIdle().then(() => {
        cancel();
        resolve(true);
      });
    });
  }

  /** Offers tasks a read just showed without a database: their first pass may claim without reading again. */
  private offerUnlinked(tasks: UnlinkedTask[]): void {
    if (this.state !== 'running') return;
    for (const task of tasks) this.driver.offerUnlinked(task);
  }

  /**
   * An owner's databases went down by one (this daemon detached, failed or removed one of theirs):
   * their refused databases, if any, are looked at again now. Other daemons' changes are seen at
   * the next resync.
   */
  ownerFreed(ownerId: string): void {
    if (this.state !== 'running') return;
    this.deps.store
      .listRefusedRecords(this.settings.windowSize, ownerId)
      .then((records) => this.offerTasks(records.map((record) => record.taskId)))
      .catch((error: unknown) =>
        this.deps.logger.warn(
          { ownerId, error: errorMessage(error) },
          'could not read refused databases; the next resync will',
        ),
      );
  }

  /**
   * Stuck tasks (the main app keeps refusing them) back off but stay the oldest unlinked tasks:
   * the window grows past them, in steps, so that newer tasks still come into view.
   */
  private stuckChanged(stuck: number): void {
    (this.deps.telemetry ?? noTelemetry).tasksStuck(stuck);
    const { windowSize } = this.settings;
    const wanted = Math.min(windowSize * MAX_WINDOW_GROWTH, windowSize + Math.ceil(stuck / WINDOW_STEP) * WINDOW_STEP);
    if (wanted === this.taskWindow) return;
    if (wanted === windowSize * MAX_WINDOW_GROWTH && stuck > wanted - windowSize)
      this.deps.logger.error(
        { stuck, window: wanted },
        'more tasks are stuck than the task window can look past; newer tasks wait until some are fixed or deleted',
      );
    this.taskWindow = wanted;
    this.feedWatch?.resizeTasks(wanted);
  }

  private offerTasks(taskIds: string[]): void {
    if (this.state !== 'running') return;
    for (const taskId of taskIds) this.driver.offer(taskId);
  }

  /** Replaces a watched window; each record is offered when it needs work (see waitMs). */
  private watchRecords(windows: Partial<Controller['watched']>): void {
    if (this.state !== 'running') return;
    this.watched = { ...this.watched, ...windows };
    this.checkDue();
  }

  private checkDue(): void {
    this.cancelDueCheck();
    const now = this.deps.clock.now();
    let next = Infinity;
    for (const record of [...this.watched.unfinished, ...this.watched.detached, ...this.watched.retries]) {
      const wait = this.waitMs(record, now);
      if (wait === null) continue;
      if (wait === 0) this.driver.offer(record.taskId);
      else next = Math.min(next, wait);
    }
    if (next !== Infinity) this.cancelDueCheck = this.deps.clock.setTimer(() => this.checkDue(), next);
  }

  /**
   * Ms until a watched record needs this daemon: a record we hold provisioning is
   * in the queue already (null); another daemon's, when its lease ends; one whose
   * task is gone, now; a detached one, when its grace (or a retiring lease) ends.
   */
  private waitMs(record: DatabaseRecord, now: number): number | null {
    const { lease, retirement } = this.settings;
    if (record.status === 'detached') return detachedWaitMs(record, now, retirement, lease);
    if (record.status === 'failed' && record.retryHonouredAt !== null)
      return Math.max(0, record.retryHonouredAt + RETRY_REQUEST_INTERVAL_MS - now);
    if (record.status !== 'provisioning' && record.status !== 'copying') return 0;
    if (record.leaseOwner === lease.owner) return null;
    return foreignLeaseWaitMs(record, now, lease) ?? 0;
  }

  private scheduleResync(ms: number): void {
    this.cancelResync = this.deps.clock.setTimer(() => void this.resync(), ms);
  }

  /** Re-reads every window and any broken records from the store, and sweeps orphans. */
  private async resync(): Promise<void> {
    if (this.state !== 'running') return;
    try {
      const { windowSize, lease } = this.settings;
      const [tasks, unfinished, detached, broken, refused] = await Promise.all([
        this.deps.store.listUnlinkedTasks(this.taskWindow),
        // The same windows the feed watches (other daemons' provisioning records only).
        this.deps.store.listUnfinishedRecords(windowSize, lease.owner),
        this.deps.store.listDetachedRecords(windowSize),
        this.deps.store.listBrokenRecords(windowSize),
        // An owner under the cap again (another daemon freed one, or the cap changed).
        this.deps.store.listRefusedRecords(windowSize),
      ]);
      this.offerUnlinked(tasks);
      this.watchRecords({ unfinished, detached });
      this.offerTasks([...broken, ...refused].map((record) => record.taskId));
      this.deps.logger.debug(
        {
          tasks: tasks.length,
          records: unfinished.length,
          detached: detached.length,
          broken: broken.length,
          refused: refused.length,
        },
        'resynced',
      );
    } catch (error) {
      this.deps.logger.warn({ error: errorMessage(error) }, 'resync failed; trying again at the next interval');
    }
    await this.sweep();
    if (this.state === 'running') this.scheduleResync(this.settings.resyncIntervalMs);
  }

  private async sweep(): Promise<void> {
    try {
      await this.deps.sweeper?.sweep();
    } catch (error) {
      this.deps.logger.warn({ error: errorMessage(error) }, 'orphan sweep failed; trying again at the next interval');
    }
  }
}
