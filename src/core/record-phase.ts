/**
 * Record: the fenced writes that finish a provisioning record, `ready` with its
 * app or `failed` with the reason. See task-reconciler.ts for the states.
 */
import type { Logger } from './logger.js';
import { done, retry, type Outcome, type ReconcileContext } from './reconcile-context.js';
import type { CreatedApp, DatabaseRecord, RecordChanges } from './types.js';

/** Records the app we made on the record, which becomes `ready`; the task must still exist. */
export async function recordReady(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  app: CreatedApp,
  log: Logger,
  /** What else the ready write records (a fork: its source's template, what was copied). */
  more: RecordChanges = {},
): Promise<Outcome> {
  const now = ctx.now;
  const written = await ctx.write(
    record,
    {
      status: 'ready',
      // A chosen id and its token are on the record since the claim.
      ...(app.id === record.instantAppId ? {} : { instantAppId: app.id, adminToken: app.adminToken }),
      readyAt: now,
      error: null,
      attempts: record.attempts + 1,
      leaseOwner: null,
      leaseExpiresAt: null,
      templateHash: ctx.deps.template.hash,
      ...more,
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
    await ctx.creator.discard(record, app, log);
    return retry(0);
  }
  ctx.creator.forget(record.taskId);
  ctx.telemetry.databaseReady({ taskId: record.taskId, databaseId: record.id, timeToLinkMs: now - record.createdAt });
  log.info(
    { appId: app.id, databaseName: record.name, attempt: record.attempts + 1, durationMs: now - record.createdAt },
    'database ready',
  );
  return done('ready');
}

/** Marks the record `failed` with `message`: no more creates for it until someone retries it. */
export async function failRecord(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  message: string,
  attempts: number,
  log: Logger,
): Promise<Outcome> {
  const written = await ctx.write(record, {
    status: 'failed',
    error: message,
    attempts,
    leaseOwner: null,
    leaseExpiresAt: null,
  });
  if (typeof written === 'string') return retry(0);
  ctx.creator.forget(record.taskId);
  log.error({ attempt: attempts, error: message }, 'database failed');
  return done('failed');
}
