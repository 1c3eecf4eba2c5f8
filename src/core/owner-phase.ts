/**
 * What a task's owner decides about its database, beyond creating the task: how many databases
 * they may have (`--max-databases-per-owner`: a task over it gets a `refused` record, no app,
 * until they have fewer) and another try at a failed one (`tasks.databaseRetryRequestedAt`,
 * honoured at most once a minute per task). See task-reconciler.ts for the states.
 */
import type { Logger } from './logger.js';
import { done, retry, type Outcome, type ReconcileContext } from './reconcile-context.js';
import { backToWork, type DatabaseRecord, type TaskState } from './types.js';

/** A retry an owner asks for is honoured at most this often per task. */
export const RETRY_REQUEST_INTERVAL_MS = 60_000;

/** Why a new database for `ownerId` is refused now, or null when it may have one. */
export async function capRefusal(ctx: ReconcileContext, ownerId: string | null): Promise<string | null> {
  const cap = ctx.settings.maxDatabasesPerOwner;
  if (cap === undefined || ownerId === null) return null;
  const count = await ctx.deps.store.countDatabasesOf(ownerId, cap);
  if (count < cap) return null;
  return `its owner has ${count} task databases, the most allowed (--max-databases-per-owner ${cap}); it is made once they have fewer`;
}

/**
 * A refused record: removed once its task is gone; put to work (provisioning, no lease, so the
 * next pass takes it like any unleased record) once its owner is under the cap again.
 */
export async function reconsiderRefused(
  ctx: ReconcileContext,
  state: TaskState,
  record: DatabaseRecord,
  log: Logger,
  remove: () => Promise<Outcome>,
): Promise<Outcome> {
  if (!state.task) return remove();
  // Counted and written one at a time per owner, as claims are.
  const ownerId = record.ownerId;
  const unrefuse = async () => {
    if ((await capRefusal(ctx, ownerId)) !== null) return null;
    return ctx.write(record, { status: 'provisioning', error: null, leaseOwner: null, leaseExpiresAt: null });
  };
  const written = ownerId ? await ctx.ownerLocks.run(ownerId, unrefuse) : await unrefuse();
  if (written === null) return done('skipped');
  if (typeof written === 'string') return retry(0);
  log.info({ ownerId: record.ownerId }, 'its owner is under the cap again; provisioning the refused database');
  return retry(0);
}

/**
 * A failed record whose task's owner asked for another try: back to provisioning with its
 * attempts reset and the request taken (cleared on the task), in one fenced write; at most once
 * a minute per task, later requests wait their turn.
 */
export async function honourRetryRequest(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  requestedAt: number,
  log: Logger,
  /** A record failed on another server is brought to this one (it has no app anywhere). */
  home?: string,
): Promise<Outcome> {
  const now = ctx.now;
  const nextAllowed = (record.retryHonouredAt ?? -Infinity) + RETRY_REQUEST_INTERVAL_MS;
  if (now < nextAllowed) return retry(nextAllowed - now);
  const written = await ctx.write(record, { ...backToWork(home), retryHonouredAt: now }, { clearRetryRequest: true });
  if (typeof written === 'string') return retry(0);
  log.info(
    {
      requestedAt: new Date(requestedAt).toISOString(),
      previousError: record.error,
      ...(home === undefined ? {} : { from: record.apiUri, apiUri: home }),
    },
    'retrying at the task owner’s request',
  );
  return retry(0);
}
