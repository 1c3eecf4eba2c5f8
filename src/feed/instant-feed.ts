/**
 * The Feed port over `subscribeQuery`: four live, windowed queries (tasks
 * without a database; records that need work now; detached records, the next to
 * retire first; failed records whose owner asked for another try), each
 * delivering full snapshots.
 *
 * The SDK reconnects by itself after a dropped stream, but any non-200 answer to
 * its subscribe request closes the subscription for good, and its `for await`
 * never ends. So each query watches `isClosed` itself (on error payloads and on
 * a timer) and resubscribes with capped, jittered backoff. A snapshot after a
 * reconnect is a full re-read, so nothing that happened meanwhile is lost.
 */
import type { Clock } from '../clock.js';
import { noTelemetry, type Feed, type FeedHandlers, type FeedWatch, type Telemetry } from '../core/ports.js';
import type { Logger } from '../core/logger.js';
import { backoffDelay, type BackoffPolicy } from '../core/retry-policy.js';
import type { DatabaseRecord, UnlinkedTask } from '../core/types.js';
import { classifyStoreError } from '../store/instant-store.js';
import { untyped, type MainDb } from '../store/instant-db.js';
import {
  detachedRecordsQuery,
  parseRecord,
  parseUnlinkedTask,
  retryRequestsQuery,
  unfinishedRecordsQuery,
  unlinkedTasksQuery,
} from '../store/records.js';

export interface InstantFeedOptions {
  db: MainDb;
  clock: Clock;
  logger: Logger;
  windowSize: number;
  /** The link from a task to its owner; null: tasks have no owner. */
  ownerLink: string | null;
  resubscribe: BackoffPolicy;
  random: () => number;
  /** How often to check for a subscription the SDK closed without telling us. */
  watchdogMs?: number;
  telemetry?: Telemetry;
}

export class InstantFeed implements Feed {
  constructor(private readonly options: InstantFeedOptions) {}

  watch(handlers: FeedHandlers, owner: string): FeedWatch {
    const { db, windowSize, ownerLink } = this.options;
    let taskWindow = windowSize;
    const tasks = new LiveQuery(
      this.options,
      'unlinked tasks',
      (onPayload) => db.subscribeQuery(untyped(unlinkedTasksQuery(taskWindow, ownerLink)), onPayload),
      (data) => handlers.onUnlinkedTasks(tasksOf((data as { tasks?: unknown }).tasks, ownerLink)),
      handlers.onError,
    );
    const records = new LiveQuery(
      this.options,
      'unfinished records',
      (onPayload) => db.subscribeQuery(untyped(unfinishedRecordsQuery(windowSize, owner)), onPayload),
      (data) => handlers.onUnfinishedRecords(recordsOf((data as { databases?: unknown }).databases)),
      handlers.onError,
    );
    const detached = new LiveQuery(
      this.options,
      'detached records',
      (onPayload) => db.subscribeQuery(untyped(detachedRecordsQuery(windowSize)), onPayload),
      (data) => handlers.onDetachedRecords(recordsOf((data as { databases?: unknown }).databases)),
      handlers.onError,
    );
    const retries = new LiveQuery(
      this.options,
      'retry requests',
      (onPayload) => db.subscribeQuery(untyped(retryRequestsQuery(windowSize)), onPayload),
      (data) => handlers.onRetryRequests(recordsOf((data as { databases?: unknown }).databases)),
      handlers.onError,
    );
    return {
      stop: () => {
        for (const query of [tasks, records, detached, retries]) query.close();
      },
      resizeTasks: (limit) => {
        if (limit === taskWindow) return;
        taskWindow = limit;
        tasks.reopen();
      },
    };
  }
}

/** What we use of the SDK's subscription handle and payloads. */
interface Subscription {
  close(): void;
  readonly isClosed: boolean;
}
type Payload = { type: 'ok'; data: unknown } | { type: 'error'; error: unknown; isClosed?: boolean };

class LiveQuery {
  private subscription: Subscription | null = null;
  private failures = 0;
  /** Set from the first error payload until the next snapshot, so an outage is reported once. */
  private erroring = false;
  private closed = false;
  private cancelTimer: () => void = () => {};
  private readonly log: Logger;
  private readonly telemetry: Telemetry;
  /** Open as far as we know: a snapshot came, and no error or close since. */
  private open = false;

  constructor(
    private readonly options: InstantFeedOptions,
    private readonly name: string,
    private readonly subscribe: (onPayload: (payload: Payload) => void) => Subscription,
    private readonly onData: (data: unknown) => void,
    private readonly onError: (error: Error) => void,
  ) {
    this.log = options.logger.child({ subscription: name });
    this.telemetry = options.telemetry ?? noTelemetry;
    this.telemetry.subscriptionChanged(name, false);
    this.connect();
  }

  /** Subscribes again at once (its query changed); the new snapshot replaces the old. */
  reopen(): void {
    if (this.closed) return;
    this.cancelTimer();
    this.subscription?.close();
    this.subscription = null;
    this.connect();
  }

  close(): void {
    this.setOpen(false);
    this.closed = true;
    this.cancelTimer();
    this.subscription?.close();
    this.subscription = null;
  }

  private setOpen(open: boolean): void {
    if (this.open === open) return;
    this.open = open;
    this.telemetry.subscriptionChanged(this.name, open);
  }

  private connect(): void {
    if (this.closed) return;
    const subscription = this.subscribe((payload) => this.handle(subscription, payload));
    this.subscription = subscription;
    this.watch(subscription);
  }

  private handle(subscription: Subscription, payload: Payload): void {
    if (this.closed || subscription !== this.subscription) return;
    if (payload.type === 'ok') {
      if (this.failures > 0 || this.erroring) this.log.info({}, 'subscription is back');
      this.failures = 0;
      this.erroring = false;
      this.setOpen(true);
      this.onData(payload.data);
      return;
    }
    this.setOpen(false);
    const error = classifyStoreError(payload.error);
    if (subscription.isClosed) return this.reopenLater(subscription, error.message);
    // The SDK reconnects by itself and repeats this every few hundred ms while the server is away.
    if (!this.erroring) this.onError(error);
    this.erroring = true;
  }

  /** Polls for a closed subscription, in case no error payload says so. */
  private watch(subscription: Subscription): void {
    this.cancelTimer = this.options.clock.setTimer(() => {
      if (this.closed || subscription !== this.subscription) return;
      if (subscription.isClosed) this.reopenLater(subscription, 'subscription closed');
      else this.watch(subscription);
    }, this.options.watchdogMs ?? 5_000);
  }

  private reopenLater(subscription: Subscription, reason: string): void {
    if (subscription !== this.subscription) return;
    this.setOpen(false);
    subscription.close();
    this.subscription = null;
    this.cancelTimer();
    this.failures++;
    const delay = backoffDelay(this.failures, this.options.resubscribe, this.options.random);
    this.log.warn({ error: reason, attempt: this.failures, retryInMs: delay }, 'subscription closed; resubscribing');
    this.cancelTimer = this.options.clock.setTimer(() => {
      this.telemetry.resubscribed(this.name);
      this.connect();
    }, delay);
  }
}

function tasksOf(entities: unknown, ownerLink: string | null): UnlinkedTask[] {
  if (!Array.isArray(entities)) return [];
  return entities.flatMap((entity) => parseUnlinkedTask(entity, ownerLink) ?? []);
}

function recordsOf(entities: unknown): DatabaseRecord[] {
  if (!Array.isArray(entities)) return [];
  return entities.map(parseRecord).filter((record): record is DatabaseRecord => record !== null);
}
