/**
 * Retire: what happens to a record once its task is gone. See
 * task-reconciler.ts for the states.
 *
 * A ready record whose task is deleted is detached (or retained, by policy). A
 * detached record gets its task back if the task is re-created with the same id
 * within the grace; after the grace, a daemon leases it (the lease marks the
 * retirement as begun: from then on it is never re-attached), deletes its app,
 * then removes the record. Each write is fenced; a crash between the steps is
 * finished by whoever takes the lease over.
 */
import { StoreError } from '../errors.js';
import type { Logger } from './logger.js';
import { done, isUniqueViolation, retry, type Outcome, type ReconcileContext } from './reconcile-context.js';
import { detachedWaitMs, isRetiring, type RetirementPolicy } from './retirement.js';
import type { DatabaseRecord, TaskState } from './types.js';

/** A finished record (ready, failed or retained) whose task is gone. */
export async function retireFinished(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  policy: RetirementPolicy,
  log: Logger,
): Promise<Outcome> {
  if (record.status === 'retained') return done('skipped');
  if (record.status === 'failed') {
    // No create can land for a failed record any more: whatever app it may have left goes now.
    const wait = await ctx.creator.removeApps(record, log);
    if (wait > 0) return retry(wait);
    return removeRecord(ctx, record, 'task was deleted; removed its failed database record', log);
  }
  const now = ctx.now;
  const changes =
    policy.onTaskDelete === 'delete'
      ? ({ status: 'detached', detachedAt: now } as const)
      : ({ status: 'retained', detachedAt: now } as const);
  const written = await ctx.write(record, { ...changes, leaseOwner: null, leaseExpiresAt: null });
  if (typeof written === 'string') return retry(0);
  log.info(
    { appId: record.instantAppId, databaseName: record.name, status: changes.status },
    changes.status === 'detached'
      ? 'task was deleted; detached its database'
      : 'task was deleted; retained its database',
  );
  return done('skipped');
}

/** A detached record: give it back to a returning task, retain it, wait out the grace, or retire it. */
export async function retireDetached(
  ctx: ReconcileContext,
  state: TaskState,
  record: DatabaseRecord,
  policy: RetirementPolicy,
  log: Logger,
): Promise<Outcome> {
  const retiring = isRetiring(record);
  if (state.task && !retiring) return reattach(ctx, state, record, log);
  if (!retiring && policy.onTaskDelete === 'retain') {
    const written = await ctx.write(record, { status: 'retained' });
    if (typeof written === 'string') return retry(0);
    log.info({ appId: record.instantAppId }, 'retention policy: kept the detached database');
    return done('skipped');
  }
  const now = ctx.now;
  if (!retiring && detachedWaitMs(record, now, policy, ctx.settings) > 0) return done('skipped');

  let held = record;
  if (record.leaseOwner !== ctx.settings.owner) {
    const leasedFor = ctx.foreignLease(record, now, log);
    if (leasedFor !== null) return { kind: 'leased', afterMs: leasedFor };
  }
  if (record.leaseOwner !== ctx.settings.owner || (record.leaseExpiresAt ?? 0) <= now) {
    const taken = await ctx.lease(record);
    if (typeof taken === 'string') return retry(0);
    held = taken;
  }
  // Its own app, and any a lost create left (none can still land by now).
  const wait = await ctx.creator.removeApps(held, log);
  if (wait > 0) return retry(wait);
  const outcome = await removeRecord(ctx, held, 'retired the database of a deleted task', log);
  // A task re-created after the retirement began gets a new database.
  return state.task && outcome.kind === 'done' ? retry(0) : outcome;
}

/**
 * A detached or retained record whose task is back (re-created with the same id): links the task
 * to it again, and it is ready; one fenced write with the link. Only for the same owner: task
 * ids can be learnt (the live page lists them), and anyone who can create tasks could re-create
 * one to be handed its database.
 */
export async function reattach(
  ctx: ReconcileContext,
  state: TaskState,
  record: DatabaseRecord,
  log: Logger,
): Promise<Outcome> {
  const ownerId = state.task?.ownerId ?? null;
  if (ownerId !== record.ownerId) return letGo(ctx, record, ownerId, log);
  const written = await ctx.write(
    record,
    { status: 'ready', detachedAt: null, leaseOwner: null, leaseExpiresAt: null },
    { linkTask: true },
  );
  if (typeof written === 'string') return retry(0);
  log.info({ appId: record.instantAppId, databaseName: record.name }, 'task is back; re-attached its database');
  return done('skipped');
}

/**
 * A task re-created with this record's task id by someone other than its owner gets a new
 * database. The record lets go of the task id (its own id takes its place, freeing the claim key)
 * and otherwise stays as it is: a detached one retires after its grace, a retained one is kept.
 */
async function letGo(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  newOwnerId: string | null,
  log: Logger,
): Promise<Outcome> {
  const written = await ctx.write(record, { taskId: record.id });
  if (typeof written === 'string') return retry(0);
  log.warn(
    { previousOwnerId: record.ownerId, ownerId: newOwnerId, appId: record.instantAppId },
    'task re-created by another owner: it gets a new database; the old one is not handed over',
  );
  return retry(0);
}

/** A fenced delete of the record; a record already gone counts as removed. */
export async function removeRecord(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  message: string,
  log: Logger,
): Promise<Outcome> {
  try {
    await ctx.deps.store.delete(record, ctx.settings.owner);
  } catch (error) {
    if (isUniqueViolation(error, 'databaseFences', 'key')) return retry(0);
    if (!(error instanceof StoreError && error.kind === 'missing-entity')) throw error;
  }
  ctx.creator.forget(record.taskId);
  ctx.statusChanged(record, null);
  log.info({ appId: record.instantAppId, databaseName: record.name }, message);
  return done('skipped');
}

/** A record we hold whose task is gone: delete every app it may have, then the record. */
export async function releaseRecord(ctx: ReconcileContext, record: DatabaseRecord, log: Logger): Promise<Outcome> {
  const wait = await ctx.creator.removeApps(record, log);
  if (wait > 0) return retry(wait);
  return removeRecord(ctx, record, 'task was deleted; removed its database', log);
}
