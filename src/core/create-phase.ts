/**
 * Claim and create: the task gets its record (one transaction with the link),
 * then the record's app is created through the Platform API, under the shared
 * create gate and the concurrency cap. See task-reconciler.ts for the states.
 */
import { AbortedError } from '../clock.js';
import { PlatformError, StoreError } from '../errors.js';
import type { Custody } from './custody.js';
import { withDeadline } from './deadline.js';
import type { Logger } from './logger.js';
import { failRecord, recordReady } from './record-phase.js';
import {
  done,
  errorMessage,
  isUniqueViolation,
  retry,
  type Outcome,
  type ReconcileContext,
} from './reconcile-context.js';
import { retryDelay } from './retry-policy.js';
import type { CreatedApp, DatabaseRecord } from './types.js';

type CreateAttempt =
  | { kind: 'created'; app: CreatedApp; sentAt: number }
  | { kind: 'failed'; error: PlatformError; sentAt: number }
  | { kind: 'not-sent' };

/** Names tried per claim before giving the task back to the queue (the name is unique). */
const NAME_TRIES = 5;

/**
 * Claims an unlinked task: creates its record (provisioning, leased to us) and
 * links the task, in one transaction, then provisions it. The transaction
 * fails when another record claims the task or the task is gone.
 */
export async function claimTask(ctx: ReconcileContext, taskId: string, signal: AbortSignal): Promise<Outcome> {
  const { deps, settings } = ctx;
  const log = deps.logger.child({ taskId });
  for (let tries = 1; ; tries++) {
    const now = ctx.now;
    const record: DatabaseRecord = {
      id: deps.newId(),
      taskId,
      name: deps.newName(),
      status: 'provisioning',
      instantAppId: null,
      attempts: 0,
      error: null,
      createdAt: now,
      leaseOwner: settings.owner,
      leaseExpiresAt: now + settings.leaseMs,
      generation: 1,
      detachedAt: null,
      templateHash: null,
      readyAt: null,
    };
    try {
      await deps.store.claim({
        taskId,
        recordId: record.id,
        name: record.name,
        owner: settings.owner,
        now,
        leaseExpiresAt: now + settings.leaseMs,
      });
    } catch (error) {
      if (isUniqueViolation(error, 'databases', 'name') && tries < NAME_TRIES) continue;
      // Another daemon claimed it first: read again to see its record.
      if (isUniqueViolation(error, 'databases', 'taskId')) return retry(0);
      if (error instanceof StoreError && error.kind === 'missing-entity') return done('skipped');
      throw error;
    }
    ctx.custody.claimed(taskId, record.id);
    const recordLog = log.child({ databaseId: record.id });
    recordLog.info({ databaseName: record.name }, 'claimed task');
    return provision(ctx, record, recordLog, signal);
  }
}

/** Moves a record we hold towards ready: clear up what an earlier create may have left, then create. */
export async function provision(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  const custody = ctx.custody.of(record.taskId, record.id, ctx.now);
  if (custody.createdApp) return recordReady(ctx, record, custody, custody.createdApp, log);

  if (custody.mayHaveApp) {
    const now = ctx.now;
    if (now < custody.notBefore) return retry(custody.notBefore - now);
    await ctx.removeAppsTitled(record, custody.notBefore, record.instantAppId, log);
    custody.appsRemoved();
  }
  if (record.attempts >= ctx.settings.maxAttempts) {
    return failRecord(ctx, record, record.error ?? `gave up after ${record.attempts} attempts`, record.attempts, log);
  }

  let held = record;
  if (!ctx.leaseCovers(held, ctx.now)) {
    const renewed = await ctx.lease(held);
    if (typeof renewed === 'string') return retry(0);
    held = renewed;
  }

  let attempt: CreateAttempt;
  try {
    attempt = await sendCreate(ctx, held, custody, signal);
  } catch (error) {
    if (error instanceof AbortedError) await releaseUnsent(ctx, held, custody, log);
    throw error;
  }
  switch (attempt.kind) {
    case 'not-sent':
      // Waited so long for a slot that the lease ran short; renew on the next pass.
      return retry(0);
    case 'created':
      // A step, not a state clients see: 'database ready' follows at once (info costs a write per line).
      log.debug(
        { appId: attempt.app.id, attempt: held.attempts + 1, durationMs: ctx.now - attempt.sentAt },
        'app created',
      );
      custody.appMade(attempt.app);
      return recordReady(ctx, held, custody, attempt.app, log);
    case 'failed':
      return afterFailedCreate(ctx, held, custody, attempt.error, attempt.sentAt, log);
  }
}

function sendCreate(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  custody: Custody,
  signal: AbortSignal,
): Promise<CreateAttempt> {
  const { clock, gate, platform, createSlots, template } = ctx.deps;
  const { requestTimeoutMs, settleMarginMs } = ctx.settings;
  // No signal for the slot itself: p-queue would abandon a create already running,
  // and a shutdown must let creates in flight finish and be recorded.
  return createSlots.add(async (): Promise<CreateAttempt> => {
    if (signal.aborted) throw new AbortedError();
    const probe = await gate.enter(signal);
    const sentAt = clock.now();
    if (!ctx.leaseCovers(record, sentAt)) {
      gate.withdrawn(probe);
      return { kind: 'not-sent' };
    }
    custody.createSent(sentAt + requestTimeoutMs + settleMarginMs);
    ctx.telemetry.createsInFlight(createSlots.pending);
    try {
      const app = await withDeadline(
        clock,
        requestTimeoutMs,
        (deadline) => platform.createApp(record.name, template, deadline),
        () => new PlatformError('timeout', 'the Platform API did not answer in time'),
      );
      gate.succeeded(probe);
      return { kind: 'created', app, sentAt };
    } catch (error) {
      const failure = asPlatformError(error);
      gate.failed(failure, probe);
      return { kind: 'failed', error: failure, sentAt };
    } finally {
      ctx.telemetry.createsInFlight(createSlots.pending - 1);
    }
  });
}

async function afterFailedCreate(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  custody: Custody,
  error: PlatformError,
  sentAt: number,
  log: Logger,
): Promise<Outcome> {
  const now = ctx.now;
  if (error.scope === 'global' || error.kind === 'rate-limited') {
    // Nothing was created, and it is not this task's fault: the gate now holds
    // every create back, and this task waits there on its next pass.
    custody.createFailed(false, now);
    log.debug({ kind: error.kind, retryAfterMs: error.retryAfterMs }, 'create refused for every task');
    return retry(0);
  }
  const { requestTimeoutMs, settleMarginMs } = ctx.settings;
  // The server writes the app before it applies the schema, so a create with a
  // schema that was refused may still have made one.
  const mayHaveCreated = error.mayHaveCreated || (error.kind === 'rejected' && ctx.deps.template.schema !== null);
  custody.createFailed(mayHaveCreated, error.answered ? now : sentAt + requestTimeoutMs + settleMarginMs);
  const attempts = record.attempts + 1;
  const message = describeFailure(error);
  if (!error.retryable) {
    // Never failed with an app left behind: look by title and delete first.
    if (custody.mayHaveApp) {
      await ctx.removeAppsTitled(record, custody.notBefore, null, log);
      custody.appsRemoved();
    }
    return failRecord(ctx, record, message, attempts, log);
  }

  const written = await ctx.write(record, { attempts, error: message });
  if (typeof written === 'string') {
    // Someone took the record over; they will look for our app by title.
    ctx.custody.forget(record.taskId);
    return retry(0);
  }
  const backoff = retryDelay(attempts, ctx.settings.backoff, ctx.deps.random, error.retryAfterMs);
  let afterMs = Math.max(backoff, custody.mayHaveApp ? custody.notBefore - now : 0);
  if (!error.answered && custody.mayHaveApp && (await foundLostApp(ctx, record, now, log))) {
    // That request made its one app, now deleted: nothing more can come of it.
    custody.appsRemoved();
    afterMs = 0;
  }
  log.warn(
    { attempt: attempts, kind: error.kind, status: error.status, error: message, retryInMs: afterMs },
    'create failed; will retry',
  );
  return retry(afterMs);
}

/**
 * After a create that got no answer: looks at once, from a listing that starts
 * now, whether its app was made. If so, that request can make no other (one
 * request, one app), so it is deleted and the next create may go at once. If not,
 * the request may still land, and the caller waits it out (rule 2).
 */
async function foundLostApp(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  failedAt: number,
  log: Logger,
): Promise<boolean> {
  const deleted = await ctx.removeAppsTitled(record, failedAt, record.instantAppId, log);
  return deleted > 0;
}

/**
 * On shutdown, hands a record whose create was never sent straight to the next
 * daemon instead of making it wait for the lease to run out.
 */
async function releaseUnsent(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  custody: Custody,
  log: Logger,
): Promise<void> {
  if (!custody.clean) return;
  try {
    await ctx.deps.store.update(record, ctx.settings.owner, { leaseOwner: null, leaseExpiresAt: null });
    ctx.custody.forget(record.taskId);
    log.info({}, 'released record on shutdown');
  } catch (error) {
    log.warn({ error: errorMessage(error) }, 'could not release record on shutdown; its lease will run out');
  }
}

function asPlatformError(error: unknown): PlatformError {
  if (error instanceof PlatformError) return error;
  return new PlatformError('network', errorMessage(error), { cause: error });
}

function describeFailure(error: PlatformError): string {
  return error.status !== undefined ? `${error.message} (HTTP ${error.status})` : error.message;
}
