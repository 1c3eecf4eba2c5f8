/**
 * Reconciles one task: reads what the main app says, then takes the one step
 * that moves the task towards "linked to exactly one ready database".
 *
 * A record's life (status, and who holds its lease):
 *
 *   (none) ──claim──▶ provisioning/us ──create ok + fenced write──▶ ready
 *                        │   ▲
 *                        │   └── create failed, retryable: attempts+1, retry later
 *                        ├── create rejected (4xx) or attempts used up ──▶ failed
 *                        └── task deleted ──▶ apps removed, record deleted
 *   provisioning/other ──lease expired──▶ takeover (fenced) ──▶ provisioning/us
 *
 * Never twice. The Platform API has no idempotency key and shows an app's admin
 * token only in the create response, so an app whose response was lost cannot be
 * adopted; it must be found by title (the record's unique name) and deleted
 * before creating again. Three rules make that safe:
 * 1. Every write to a record after the claim is fenced (Store.update): of two
 *    writers that read the same generation, one wins; the loser stops and, if
 *    it made an app, deletes it.
 * 2. A create is sent only while our lease has at least request timeout +
 *    settle margin left, so it has landed or failed for good before anyone may
 *    take the record over.
 * 3. Whoever may hold an unrecorded app (after a lost answer, or any takeover)
 *    lists apps by title once no create can still land, and deletes them before
 *    creating.
 */
import type PQueue from 'p-queue';
import { AbortedError, type Clock } from '../clock.js';
import { PlatformError, StoreError } from '../errors.js';
import { madeAfter, type AppDirectory } from './app-directory.js';
import type { CreateGate } from './create-gate.js';
import { foreignLeaseWaitMs, isImplausibleLease } from './lease.js';
import type { Logger } from './logger.js';
import type { PlatformClient, Store } from './ports.js';
import { retryDelay, type BackoffPolicy } from './retry-policy.js';
import type { CreatedApp, DatabaseRecord, RecordChanges, TaskResult, TaskState } from './types.js';

/** What a pass concluded; the caller turns it into queue actions. */
export type Outcome =
  /** Nothing more to do for now. */
  | { kind: 'done'; result: TaskResult }
  /** Come back after `afterMs` (backoff, a create that may still land, a lost race). */
  | { kind: 'retry'; afterMs: number }
  /** Another daemon holds the record until `afterMs` from now. */
  | { kind: 'leased'; afterMs: number };

export interface ReconcilerSettings {
  /** This process's lease owner id; unique per process start. */
  owner: string;
  leaseMs: number;
  requestTimeoutMs: number;
  /** Added after a request timeout before its effects count as final; also covers clock skew. */
  settleMarginMs: number;
  maxAttempts: number;
  backoff: BackoffPolicy;
}

export interface ReconcilerDeps {
  store: Store;
  platform: PlatformClient;
  directory: AppDirectory;
  gate: CreateGate;
  /** Caps concurrent Platform creates. */
  createSlots: PQueue;
  clock: Clock;
  logger: Logger;
  random: () => number;
  newId: () => string;
  newName: () => string;
}

/** What this process knows about a record it holds, beyond what the record says. */
interface Custody {
  /** The record this is about; a task whose record was replaced starts afresh. */
  recordId: string;
  /** A create may have made an app that is not recorded... */
  mayHaveApp: boolean;
  /** ...and it may still land until then (epoch ms). */
  notBefore: number;
  /** An app we created but have not recorded yet. */
  createdApp?: CreatedApp;
}

type CreateAttempt =
  | { kind: 'created'; app: CreatedApp; sentAt: number }
  | { kind: 'failed'; error: PlatformError; sentAt: number }
  | { kind: 'not-sent' };

const NAME_TRIES = 5;

const done = (result: TaskResult): Outcome => ({ kind: 'done', result });
const retry = (afterMs: number): Outcome => ({ kind: 'retry', afterMs: Math.max(0, afterMs) });

export class TaskReconciler {
  /** By task id: the work queue never runs two passes of one task at once. */
  private readonly custody = new Map<string, Custody>();
  private readonly log: Logger;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly settings: ReconcilerSettings,
  ) {
    this.log = deps.logger;
  }

  /**
   * One pass over a task. With `claimFirst` (the task was just seen without a
   * database), it tries the claim before reading anything: the claim transaction
   * itself checks that no record exists for the task and that the task exists,
   * so the read would only cost a round trip; any conflict falls back to a read.
   */
  async reconcile(taskId: string, signal: AbortSignal, options: { claimFirst?: boolean } = {}): Promise<Outcome> {
    if (options.claimFirst)
      return this.claim(taskId, { task: { id: taskId, mainDatabaseId: null }, record: null }, signal);
    const state = await this.deps.store.loadTask(taskId);
    const record = state.record;
    if (!record) {
      await this.forget(taskId, null, this.log.child({ taskId }));
      return this.claim(taskId, state, signal);
    }

    const log = this.log.child({ taskId, databaseId: record.id });
    if ((record.status === 'ready' && record.instantAppId) || record.status === 'failed') {
      await this.forget(taskId, record, log);
      return this.settled(state, record, log);
    }
    if (record.status !== 'provisioning') {
      log.warn(
        { status: record.status, appId: record.instantAppId },
        'record is in a bad state; provisioning it again',
      );
    }

    const now = this.deps.clock.now();
    const leasedFor = this.foreignLease(record, now, log);
    if (leasedFor !== null) {
      await this.forget(taskId, record, log);
      return { kind: 'leased', afterMs: leasedFor };
    }

    let held = record;
    if (record.leaseOwner !== this.settings.owner || record.status !== 'provisioning') {
      const taken = await this.write(record, {
        status: 'provisioning',
        leaseOwner: this.settings.owner,
        leaseExpiresAt: now + this.settings.leaseMs,
      });
      if (typeof taken === 'string') return retry(0);
      held = taken;
      // Whatever the previous holder sent has landed or failed by now (rule 2), but
      // it may have made an app nobody recorded.
      this.custody.set(taskId, { recordId: held.id, mayHaveApp: true, notBefore: now });
      log.info({ previousOwner: record.leaseOwner, generation: held.generation }, 'took over record');
    } else if (!this.leaseCovers(record, now)) {
      // Our own lease ran short (a long backoff): renew it, fenced, before anything
      // else, above all before deleting apps by title. If another daemon took the
      // record over meanwhile, this write loses and the apps are theirs to handle.
      const renewed = await this.write(record, {
        leaseOwner: this.settings.owner,
        leaseExpiresAt: now + this.settings.leaseMs,
      });
      // Lost or gone: the next pass reads what won, and forgets only what it no longer holds.
      if (typeof renewed === 'string') return retry(0);
      held = renewed;
    }

    if (!state.task) return this.release(held, log);
    return this.provision(held, log, signal);
  }

  /** A ready or failed record: make sure its task links to it, and stop. */
  private async settled(state: TaskState, record: DatabaseRecord, log: Logger): Promise<Outcome> {
    if (state.task && state.task.mainDatabaseId === null) {
      await this.deps.store.link(state.task.id, record.id);
      log.info({ status: record.status }, 'linked task to its existing database');
    }
    return done('skipped');
  }

  private async claim(taskId: string, state: TaskState, signal: AbortSignal): Promise<Outcome> {
    const log = this.log.child({ taskId });
    if (!state.task) return done('skipped');
    if (state.task.mainDatabaseId !== null) {
      log.warn(
        { databaseId: state.task.mainDatabaseId },
        'task links to a database record of another task; leaving it alone',
      );
      return done('skipped');
    }
    for (let tries = 1; ; tries++) {
      const now = this.deps.clock.now();
      const record: DatabaseRecord = {
        id: this.deps.newId(),
        taskId,
        name: this.deps.newName(),
        status: 'provisioning',
        instantAppId: null,
        attempts: 0,
        error: null,
        createdAt: now,
        leaseOwner: this.settings.owner,
        leaseExpiresAt: now + this.settings.leaseMs,
        generation: 1,
      };
      try {
        await this.deps.store.claim({
          taskId,
          recordId: record.id,
          name: record.name,
          owner: this.settings.owner,
          now,
          leaseExpiresAt: now + this.settings.leaseMs,
        });
      } catch (error) {
        if (isUniqueViolation(error, 'databases', 'name') && tries < NAME_TRIES) continue;
        // Another daemon claimed it first: read again to see its record.
        if (isUniqueViolation(error, 'databases', 'taskId')) return retry(0);
        if (error instanceof StoreError && error.kind === 'missing-entity') return done('skipped');
        throw error;
      }
      this.custody.set(taskId, { recordId: record.id, mayHaveApp: false, notBefore: 0 });
      const recordLog = log.child({ databaseId: record.id });
      recordLog.info({ databaseName: record.name }, 'claimed task');
      return this.provision(record, recordLog, signal);
    }
  }

  private async provision(record: DatabaseRecord, log: Logger, signal: AbortSignal): Promise<Outcome> {
    const custody = this.custodyOf(record);
    if (custody.createdApp) return this.recordReady(record, custody, custody.createdApp, log);

    if (custody.mayHaveApp) {
      const now = this.deps.clock.now();
      if (now < custody.notBefore) return retry(custody.notBefore - now);
      await this.removeAppsTitled(record, custody.notBefore, record.instantAppId, log);
      custody.mayHaveApp = false;
    }
    if (record.attempts >= this.settings.maxAttempts) {
      return this.fail(record, record.error ?? `gave up after ${record.attempts} attempts`, record.attempts, log);
    }

    let held = record;
    if (!this.leaseCovers(held, this.deps.clock.now())) {
      const renewed = await this.write(held, {
        leaseOwner: this.settings.owner,
        leaseExpiresAt: this.deps.clock.now() + this.settings.leaseMs,
      });
      if (typeof renewed === 'string') return retry(0);
      held = renewed;
    }

    let attempt: CreateAttempt;
    try {
      attempt = await this.sendCreate(held, custody, signal);
    } catch (error) {
      if (error instanceof AbortedError) await this.releaseUnsent(held, custody, log);
      throw error;
    }
    switch (attempt.kind) {
      case 'not-sent':
        // Waited so long for a slot that the lease ran short; renew on the next pass.
        return retry(0);
      case 'created':
        // A step, not a state clients see: 'database ready' follows at once (info costs a write per line).
        log.debug(
          { appId: attempt.app.id, attempt: held.attempts + 1, durationMs: this.deps.clock.now() - attempt.sentAt },
          'app created',
        );
        custody.createdApp = attempt.app;
        return this.recordReady(held, custody, attempt.app, log);
      case 'failed':
        return this.afterFailedCreate(held, custody, attempt.error, attempt.sentAt, log);
    }
  }

  private sendCreate(record: DatabaseRecord, custody: Custody, signal: AbortSignal): Promise<CreateAttempt> {
    const { clock, gate, platform } = this.deps;
    const { requestTimeoutMs, settleMarginMs } = this.settings;
    // No signal for the slot itself: p-queue would abandon a create already running,
    // and a shutdown must let creates in flight finish and be recorded.
    return this.deps.createSlots.add(async (): Promise<CreateAttempt> => {
      if (signal.aborted) throw new AbortedError();
      const probe = await gate.enter(signal);
      const sentAt = clock.now();
      if (!this.leaseCovers(record, sentAt)) {
        gate.withdrawn(probe);
        return { kind: 'not-sent' };
      }
      // From here on an app may exist until we know better.
      custody.mayHaveApp = true;
      custody.notBefore = sentAt + requestTimeoutMs + settleMarginMs;
      const deadline = new AbortController();
      const cancelDeadline = clock.setTimer(() => deadline.abort(), requestTimeoutMs);
      try {
        const app = await platform.createApp(record.name, deadline.signal);
        gate.succeeded(probe);
        return { kind: 'created', app, sentAt };
      } catch (error) {
        const failure = asPlatformError(error, deadline.signal.aborted);
        gate.failed(failure, probe);
        return { kind: 'failed', error: failure, sentAt };
      } finally {
        cancelDeadline();
      }
    });
  }

  private async afterFailedCreate(
    record: DatabaseRecord,
    custody: Custody,
    error: PlatformError,
    sentAt: number,
    log: Logger,
  ): Promise<Outcome> {
    const now = this.deps.clock.now();
    if (error.scope === 'global' || error.kind === 'rate-limited') {
      // Nothing was created, and it is not this task's fault: the gate now holds
      // every create back, and this task waits there on its next pass.
      custody.mayHaveApp = false;
      log.debug({ kind: error.kind, retryAfterMs: error.retryAfterMs }, 'create refused for every task');
      return retry(0);
    }
    custody.mayHaveApp = error.mayHaveCreated;
    custody.notBefore = error.answered ? now : sentAt + this.settings.requestTimeoutMs + this.settings.settleMarginMs;
    const attempts = record.attempts + 1;
    const message = describeFailure(error);
    if (!error.retryable) return this.fail(record, message, attempts, log);

    const written = await this.write(record, { attempts, error: message });
    if (typeof written === 'string') {
      // Someone took the record over; they will look for our app by title.
      this.custody.delete(record.taskId);
      return retry(0);
    }
    const backoff = retryDelay(attempts, this.settings.backoff, this.deps.random, error.retryAfterMs);
    const afterMs = Math.max(backoff, custody.mayHaveApp ? custody.notBefore - now : 0);
    log.warn(
      { attempt: attempts, kind: error.kind, status: error.status, error: message, retryInMs: afterMs },
      'create failed; will retry',
    );
    return retry(afterMs);
  }

  private async recordReady(record: DatabaseRecord, custody: Custody, app: CreatedApp, log: Logger): Promise<Outcome> {
    const now = this.deps.clock.now();
    const written = await this.write(
      record,
      {
        status: 'ready',
        instantAppId: app.id,
        adminToken: app.adminToken,
        readyAt: now,
        error: null,
        attempts: record.attempts + 1,
        leaseOwner: null,
        leaseExpiresAt: null,
      },
      { requireTask: true },
    );
    if (written === 'lost') {
      // Usually another daemon took the record over, but the winner may be our own
      // earlier ready write that timed out and landed late: the next pass reads the
      // record and deletes the app only if the record does not hold it.
      log.warn({ appId: app.id }, 'another write moved the record first; checking it again');
      return retry(0);
    }
    if (written === 'gone') {
      log.info({ appId: app.id }, 'task or record was deleted while provisioning; deleting the app');
      await this.discard(app.id, log);
      custody.createdApp = undefined;
      custody.mayHaveApp = true;
      custody.notBefore = now;
      return retry(0);
    }
    this.custody.delete(record.taskId);
    log.info(
      { appId: app.id, databaseName: record.name, attempt: record.attempts + 1, durationMs: now - record.createdAt },
      'database ready',
    );
    return done('ready');
  }

  private async fail(record: DatabaseRecord, message: string, attempts: number, log: Logger): Promise<Outcome> {
    const written = await this.write(record, {
      status: 'failed',
      error: message,
      attempts,
      leaseOwner: null,
      leaseExpiresAt: null,
    });
    if (typeof written === 'string') return retry(0);
    this.custody.delete(record.taskId);
    log.error({ attempt: attempts, error: message }, 'database failed');
    return done('failed');
  }

  /**
   * On shutdown, hands a record whose create was never sent straight to the next
   * daemon instead of making it wait for the lease to run out.
   */
  private async releaseUnsent(record: DatabaseRecord, custody: Custody, log: Logger): Promise<void> {
    if (custody.mayHaveApp || custody.createdApp) return;
    try {
      await this.deps.store.update(record, this.settings.owner, { leaseOwner: null, leaseExpiresAt: null });
      this.custody.delete(record.taskId);
      log.info({}, 'released record on shutdown');
    } catch (error) {
      log.warn({ error: errorMessage(error) }, 'could not release record on shutdown; its lease will run out');
    }
  }

  /** The task is gone: delete every app the record may have, then the record. */
  private async release(record: DatabaseRecord, log: Logger): Promise<Outcome> {
    const custody = this.custodyOf(record);
    if (custody.createdApp) {
      await this.deleteApp(custody.createdApp.id);
      custody.createdApp = undefined;
    }
    if (custody.mayHaveApp) {
      const now = this.deps.clock.now();
      if (now < custody.notBefore) return retry(custody.notBefore - now);
      await this.removeAppsTitled(record, custody.notBefore, null, log);
      custody.mayHaveApp = false;
    }
    if (record.instantAppId) await this.deleteApp(record.instantAppId);
    try {
      await this.deps.store.delete(record, this.settings.owner);
    } catch (error) {
      if (isUniqueViolation(error, 'databaseFences', 'key')) return retry(0);
      if (!(error instanceof StoreError && error.kind === 'missing-entity')) throw error;
    }
    this.custody.delete(record.taskId);
    log.info({ databaseName: record.name }, 'task was deleted; removed its database');
    return done('skipped');
  }

  /** Deletes apps titled with the record's name, except `keep` (rule 3). */
  private async removeAppsTitled(
    record: DatabaseRecord,
    notBefore: number,
    keep: string | null,
    log: Logger,
  ): Promise<void> {
    const apps = await this.deps.directory.findByTitle(record.name, notBefore);
    for (const app of apps) {
      if (app.id === keep) continue;
      if (!madeAfter(app, record.createdAt)) {
        log.warn({ appId: app.id }, 'an app with this title predates the record; not ours, leaving it');
        continue;
      }
      await this.deleteApp(app.id);
      log.info({ appId: app.id, databaseName: record.name }, 'deleted orphan app');
    }
  }

  /** Best-effort delete of an app we made but could not keep; others find it by title if this fails. */
  private async discard(appId: string, log: Logger): Promise<void> {
    try {
      await this.deleteApp(appId);
    } catch (error) {
      log.warn(
        { appId, error: errorMessage(error) },
        'could not delete the app; it will be found by title and deleted later',
      );
    }
  }

  private async deleteApp(appId: string): Promise<void> {
    const deadline = new AbortController();
    const cancel = this.deps.clock.setTimer(() => deadline.abort(), this.settings.requestTimeoutMs);
    try {
      await this.deps.platform.deleteApp(appId, deadline.signal);
    } finally {
      cancel();
    }
  }

  /**
   * A fenced write. Returns the record as written, 'lost' when another writer
   * moved the record first, 'gone' when the record (or, with requireTask, the
   * task) no longer exists.
   */
  private async write(
    record: DatabaseRecord,
    changes: RecordChanges,
    options: { requireTask?: boolean } = {},
  ): Promise<DatabaseRecord | 'lost' | 'gone'> {
    try {
      await this.deps.store.update(record, this.settings.owner, changes, options);
    } catch (error) {
      if (isUniqueViolation(error, 'databaseFences', 'key')) return 'lost';
      if (error instanceof StoreError && error.kind === 'missing-entity') return 'gone';
      throw error;
    }
    return applyChanges(record, changes);
  }

  private custodyOf(record: DatabaseRecord): Custody {
    let custody = this.custody.get(record.taskId);
    if (custody?.recordId !== record.id) {
      // We hold the record but remember nothing of it: assume the worst.
      custody = { recordId: record.id, mayHaveApp: true, notBefore: this.deps.clock.now() };
      this.custody.set(record.taskId, custody);
    }
    return custody;
  }

  /**
   * Drops what we knew of a task whose record is finished, gone or held by
   * another daemon. An app we made that the record does not hold is deleted
   * (best effort: whoever holds the record also looks for it by title).
   */
  private async forget(taskId: string, record: DatabaseRecord | null, log: Logger): Promise<void> {
    const custody = this.custody.get(taskId);
    if (!custody) return;
    this.custody.delete(taskId);
    const app = custody.createdApp;
    if (app && app.id !== record?.instantAppId) {
      log.info({ appId: app.id }, 'the record does not hold the app we made; deleting it');
      await this.discard(app.id, log);
    }
  }

  /** How many tasks this process remembers something about (bounded by the work in flight); for tests. */
  get custodySize(): number {
    return this.custody.size;
  }

  /** True when our lease outlives a create sent now by its timeout plus the margin (rule 2). */
  private leaseCovers(record: DatabaseRecord, now: number): boolean {
    return (
      record.leaseOwner === this.settings.owner &&
      record.leaseExpiresAt !== null &&
      record.leaseExpiresAt - now >= this.settings.requestTimeoutMs + this.settings.settleMarginMs
    );
  }

  /** Ms until another daemon's lease on the record may be taken over, or null if it may be now. */
  private foreignLease(record: DatabaseRecord, now: number, log: Logger): number | null {
    if (isImplausibleLease(record, now, this.settings)) {
      log.warn(
        { leaseOwner: record.leaseOwner, leaseExpiresAt: record.leaseExpiresAt },
        'lease ends implausibly far in the future; treating it as expired',
      );
    }
    return foreignLeaseWaitMs(record, now, this.settings);
  }
}

function applyChanges(record: DatabaseRecord, changes: RecordChanges): DatabaseRecord {
  const next = { ...record, generation: record.generation + 1 };
  if (changes.status !== undefined) next.status = changes.status;
  if (changes.instantAppId !== undefined) next.instantAppId = changes.instantAppId;
  if (changes.attempts !== undefined) next.attempts = changes.attempts;
  if (changes.error !== undefined) next.error = changes.error;
  if (changes.leaseOwner !== undefined) next.leaseOwner = changes.leaseOwner;
  if (changes.leaseExpiresAt !== undefined) next.leaseExpiresAt = changes.leaseExpiresAt;
  return next;
}

function isUniqueViolation(error: unknown, etype: string, label: string): boolean {
  return (
    error instanceof StoreError && error.kind === 'unique-violation' && error.etype === etype && error.label === label
  );
}

function asPlatformError(error: unknown, timedOut: boolean): PlatformError {
  if (error instanceof PlatformError) return error;
  if (timedOut) return new PlatformError('timeout', 'the Platform API did not answer in time', { cause: error });
  return new PlatformError('network', errorMessage(error), { cause: error });
}

function describeFailure(error: PlatformError): string {
  return error.status !== undefined ? `${error.message} (HTTP ${error.status})` : error.message;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
