/**
 * Claim and create: the task gets its record (one transaction with the link), then the core asks
 * its one question of the AppCreator, "make sure this record's app exists", and turns the answer
 * into the record's next state. See task-reconciler.ts for the states.
 */
import { AbortedError } from '../clock.js';
import { StoreError, type PlatformError, type ProvisionerError } from '../errors.js';
import type { Ensured } from './app-creator.js';
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
import { copyFork, forkOrigin, type ForkSource } from './fork-phase.js';
import { capRefusal } from './owner-phase.js';
import type { CreatedApp, DatabaseRecord, UnlinkedTask } from './types.js';

/** Claims tried before giving the task back to the queue (the name and a chosen app id are unique). */
const CLAIM_TRIES = 5;

/**
 * Claims an unlinked task: creates its record (provisioning, leased to us, naming its app when
 * its id is chosen; refused, when its owner has too many databases) and links the task, in one
 * transaction, then provisions it. The transaction fails when another record claims the task or
 * the task is gone.
 */
export async function claimTask(ctx: ReconcileContext, task: UnlinkedTask, signal: AbortSignal): Promise<Outcome> {
  const log = ctx.deps.logger.child({ taskId: task.id });
  const claimed = await withOwnerCap(ctx, task.ownerId, async (refusedBecause) =>
    writeClaim(ctx, task, refusedBecause),
  );
  if (claimed.kind !== 'claimed') return claimed.outcome;
  const { record, app } = claimed;
  ctx.telemetry.statusChanged(null, record.status);
  const recordLog = log.child({ databaseId: record.id });
  if (record.status === 'refused') {
    recordLog.warn({ ownerId: task.ownerId, error: record.error }, 'refused a database: its owner has too many');
    return done('skipped');
  }
  ctx.creator.claimed(record, app);
  recordLog.info({ databaseName: record.name }, 'claimed task');
  return provision(ctx, record, recordLog, signal);
}

type Claimed = { kind: 'claimed'; record: DatabaseRecord; app: CreatedApp | null } | { kind: 'not'; outcome: Outcome };

/**
 * Runs a claim under the per-owner cap: for an owner with a cap to keep, the count and the claim
 * go one at a time (within this daemon; two daemons may each claim one more at the same moment).
 */
function withOwnerCap(
  ctx: ReconcileContext,
  ownerId: string | null,
  claim: (refusedBecause: string | null) => Promise<Claimed>,
): Promise<Claimed> {
  if (ctx.settings.maxDatabasesPerOwner === undefined || ownerId === null) return claim(null);
  return ctx.ownerLocks.run(ownerId, async () => claim(await capRefusal(ctx, ownerId)));
}

/** The claim transaction, with fresh names (and chosen ids) while they are taken. */
async function writeClaim(ctx: ReconcileContext, task: UnlinkedTask, refusedBecause: string | null): Promise<Claimed> {
  const { deps, settings, creator } = ctx;
  for (let tries = 1; ; tries++) {
    const now = ctx.now;
    const app = refusedBecause ? null : creator.appForClaim();
    const record: DatabaseRecord = {
      id: deps.newId(),
      taskId: task.id,
      name: deps.newName(),
      status: refusedBecause ? 'refused' : 'provisioning',
      instantAppId: app?.id ?? null,
      createdVia: creator.path,
      apiUri: settings.apiUri,
      ownerId: task.ownerId,
      originIterationId: task.forkedFrom,
      retryHonouredAt: null,
      attempts: 0,
      firstAttemptAt: null,
      error: refusedBecause,
      createdAt: now,
      leaseOwner: refusedBecause ? null : settings.owner,
      leaseExpiresAt: refusedBecause ? null : now + settings.leaseMs,
      generation: 1,
      detachedAt: null,
      templateHash: null,
      readyAt: null,
    };
    try {
      await deps.store.claim({
        taskId: task.id,
        recordId: record.id,
        name: record.name,
        owner: settings.owner,
        now,
        leaseExpiresAt: now + settings.leaseMs,
        createdVia: record.createdVia,
        app,
        apiUri: settings.apiUri,
        ownerId: task.ownerId,
        originIterationId: task.forkedFrom,
        refusedBecause,
      });
    } catch (error) {
      const taken =
        isUniqueViolation(error, 'databases', 'name') || isUniqueViolation(error, 'databases', 'instantAppId');
      if (taken && tries < CLAIM_TRIES) continue;
      // Another daemon claimed it first: read again to see its record.
      if (isUniqueViolation(error, 'databases', 'taskId')) return { kind: 'not', outcome: retry(0) };
      if (error instanceof StoreError && error.kind === 'missing-entity')
        return { kind: 'not', outcome: done('skipped') };
      throw error;
    }
    return { kind: 'claimed', record, app };
  }
}

/** Moves a record we hold towards ready: its app made (or found), then recorded. */
export async function provision(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  const spent = ctx.budgetSpent(record, ctx.now);
  if (spent) return failWithoutApps(ctx, record, spent, record.attempts, log);

  let held = record;
  if (!ctx.leaseCovers(held, ctx.now)) {
    const renewed = await ctx.lease(held);
    if (typeof renewed === 'string') return retry(0);
    held = renewed;
  }

  if (held.status === 'copying') return continueCopy(ctx, held, log, signal);
  let template = ctx.deps.template;
  let source: ForkSource | null = null;
  if (held.originIterationId) {
    const origin = await forkOrigin(ctx, held, signal);
    if (origin.kind === 'wait') return retry(origin.afterMs);
    if (origin.kind === 'source') ({ source, template } = { source: origin.source, template: origin.source.template });
    else if (ctx.settings.forkSourceMissing === 'fail')
      return failWithoutApps(ctx, held, origin.reason, held.attempts, log);
    else log.warn({ reason: origin.reason }, 'the fork’s source cannot be copied; making its app from the template');
  }

  let ensured: Ensured;
  try {
    ensured = await ctx.creator.ensureApp(held, template, log, signal);
  } catch (error) {
    if (error instanceof AbortedError) await releaseUnsent(ctx, held, log);
    throw error;
  }
  switch (ensured.kind) {
    case 'app':
      return source ? startCopy(ctx, held, ensured.app, source, log, signal) : recordReady(ctx, held, ensured.app, log);
    case 'wait':
      return retry(ensured.afterMs);
    case 'renew':
      return renewApp(ctx, held, ensured.reason, log);
    case 'refused':
      return failWithoutApps(ctx, held, describeFailure(ensured.error), held.attempts + 1, log);
    case 'failed':
      return afterFailedAttempt(ctx, held, ensured.error, ensured.sentAt, log);
  }
}

/** A fork's app exists: the record names it and is `copying` (one fenced write), then the data is copied in. */
async function startCopy(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  app: CreatedApp,
  source: ForkSource,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  const written = await ctx.write(record, {
    status: 'copying',
    copiedEntities: 0,
    totalEntities: null,
    ...(app.id === record.instantAppId ? {} : { instantAppId: app.id, adminToken: app.adminToken }),
  });
  if (written === 'lost') return retry(0);
  if (written === 'gone') {
    await ctx.creator.discard(record, app, log);
    return retry(0);
  }
  // From here the record names its app: nothing of it is ours alone to remember.
  ctx.creator.forget(record.taskId);
  log.info({ appId: app.id, sourceAppId: source.app.id }, 'copying the fork’s data');
  return runCopy(ctx, written, app, source, log, signal);
}

/** A `copying` record we hold (ours, or taken over): copy into the app it names, again, from its source. */
async function continueCopy(ctx: ReconcileContext, record: DatabaseRecord, log: Logger, signal: AbortSignal) {
  const origin = await forkOrigin(ctx, record, signal);
  if (origin.kind === 'wait') return retry(origin.afterMs);
  if (origin.kind === 'missing')
    return failWithoutApps(ctx, record, `${origin.reason} (while copying)`, record.attempts, log);
  const adminToken = await ctx.deps.store.readAdminToken(record.id);
  if (!record.instantAppId || !adminToken)
    return failWithoutApps(ctx, record, 'a copying record must name its app and its token', record.attempts, log);
  return runCopy(ctx, record, { id: record.instantAppId, adminToken }, origin.source, log, signal);
}

/** Copies, then ready; a failed copy is an attempt (tried again within the budget), never ready unverified. */
async function runCopy(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  app: CreatedApp,
  source: ForkSource,
  log: Logger,
  signal: AbortSignal,
): Promise<Outcome> {
  const target = { ...app, apiUri: record.apiUri ?? ctx.settings.apiUri };
  const result = await copyFork(ctx, record, target, source, log, signal);
  if ('outcome' in result) return result.outcome;
  if ('failed' in result) {
    const error = result.failed;
    // Verification that failed may pass on a second copy (written again, ids kept); a refusal will not.
    if (!error.retryable && error.kind !== 'verify-failed')
      return failWithoutApps(ctx, record, `copy failed: ${error.message}`, record.attempts + 1, log);
    return recordAttempt(ctx, record, error, `copy failed: ${error.message}`, ctx.now, log);
  }
  return recordReady(ctx, result.copied, app, log, {
    templateHash: source.template.hash,
    copiedEntities: result.entityCount,
  });
}

/** Records a failed attempt (fenced), then comes back after the backoff, or later if a create may still land. */
async function afterFailedAttempt(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  error: PlatformError,
  sentAt: number,
  log: Logger,
): Promise<Outcome> {
  return recordAttempt(ctx, record, error, describeFailure(error), sentAt, log, (written) =>
    ctx.creator.afterFailedAttempt(written, error, log),
  );
}

/**
 * One attempt spent (a create, or a fork's copy), written on the record, fenced; comes back after
 * the backoff, or after `settle` says (a create that may still land).
 */
async function recordAttempt(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  error: ProvisionerError & { kind: string; status?: number | undefined },
  message: string,
  sentAt: number,
  log: Logger,
  settle: (written: DatabaseRecord) => Promise<number | 'at-once'> = async () => 0,
): Promise<Outcome> {
  const attempts = record.attempts + 1;
  const written = await ctx.write(record, {
    attempts,
    error: message,
    firstAttemptAt: record.firstAttemptAt ?? sentAt,
  });
  if (typeof written === 'string') {
    // Someone took the record over; they handle whatever our attempt left.
    ctx.creator.forget(record.taskId);
    return retry(0);
  }
  const backoff = retryDelay(attempts, ctx.settings.backoff, ctx.deps.random, error.retryAfterMs);
  const wait = await settle(written);
  const afterMs = wait === 'at-once' ? 0 : Math.max(backoff, wait);
  log.warn(
    { attempt: attempts, kind: error.kind, status: error.status, error: message, retryInMs: afterMs },
    record.status === 'copying' ? 'copy failed; will retry' : 'create failed; will retry',
  );
  return retry(afterMs);
}

/** Fails the record once every app it may have is deleted: never `failed` with an app left behind. */
async function failWithoutApps(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  message: string,
  attempts: number,
  log: Logger,
): Promise<Outcome> {
  const wait = await ctx.creator.removeApps(record, log);
  if (wait > 0) return retry(wait);
  return failRecord(ctx, record, message, attempts, log);
}

/**
 * The app the record names can never be made (its id is someone else's, or was deleted): the
 * record names a new one, or none where the server picks ids; one fenced write.
 */
async function renewApp(ctx: ReconcileContext, record: DatabaseRecord, reason: string, log: Logger): Promise<Outcome> {
  const app = ctx.creator.appForClaim();
  const written = await ctx.write(record, {
    instantAppId: app?.id ?? null,
    adminToken: app?.adminToken ?? null,
    createdVia: ctx.creator.path,
  });
  if (typeof written === 'string') {
    ctx.creator.forget(record.taskId);
    return retry(0);
  }
  ctx.creator.claimed(written, app);
  log.warn({ previousAppId: record.instantAppId, appId: app?.id ?? null, reason }, 'the record names a new app');
  return retry(0);
}

/**
 * On shutdown, hands a record whose create was never sent straight to the next
 * daemon instead of making it wait for the lease to run out.
 */
async function releaseUnsent(ctx: ReconcileContext, record: DatabaseRecord, log: Logger): Promise<void> {
  if (!ctx.creator.settled(record)) return;
  try {
    await ctx.deps.store.update(record, ctx.settings.owner, { leaseOwner: null, leaseExpiresAt: null });
    ctx.creator.forget(record.taskId);
    log.info({}, 'released record on shutdown');
  } catch (error) {
    log.warn({ error: errorMessage(error) }, 'could not release record on shutdown; its lease will run out');
  }
}

function describeFailure(error: PlatformError): string {
  return error.status !== undefined ? `${error.message} (HTTP ${error.status})` : error.message;
}
