/**
 * Retire: what happens to a record once its task is gone. See
 * task-reconciler.ts for the states.
 */
import type { Logger } from './logger.js';
import { done, isUniqueViolation, retry, type Outcome, type ReconcileContext } from './reconcile-context.js';
import { StoreError } from '../errors.js';
import type { DatabaseRecord } from './types.js';

/** A record we hold whose task is gone: delete every app it may have, then the record. */
export async function releaseRecord(ctx: ReconcileContext, record: DatabaseRecord, log: Logger): Promise<Outcome> {
  const custody = ctx.custody.of(record.taskId, record.id, ctx.now);
  if (custody.createdApp) {
    await ctx.deleteApp(custody.createdApp.id);
    custody.createdApp = undefined;
  }
  if (custody.mayHaveApp) {
    const now = ctx.now;
    if (now < custody.notBefore) return retry(custody.notBefore - now);
    await ctx.removeAppsTitled(record, custody.notBefore, null, log);
    custody.appsRemoved();
  }
  if (record.instantAppId) await ctx.deleteApp(record.instantAppId);
  try {
    await ctx.deps.store.delete(record, ctx.settings.owner);
  } catch (error) {
    if (isUniqueViolation(error, 'databaseFences', 'key')) return retry(0);
    if (!(error instanceof StoreError && error.kind === 'missing-entity')) throw error;
  }
  ctx.custody.forget(record.taskId);
  log.info({ databaseName: record.name }, 'task was deleted; removed its database');
  return done('skipped');
}

/**
 * Drops what we knew of a task whose record is finished, gone or held by
 * another daemon. An app we made that the record does not hold is deleted
 * (best effort: whoever holds the record also looks for it by title).
 */
export async function forgetTask(
  ctx: ReconcileContext,
  taskId: string,
  record: DatabaseRecord | null,
  log: Logger,
): Promise<void> {
  const custody = ctx.custody.get(taskId);
  if (!custody) return;
  ctx.custody.forget(taskId);
  const app = custody.createdApp;
  if (app && app.id !== record?.instantAppId) {
    log.info({ appId: app.id }, 'the record does not hold the app we made; deleting it');
    await ctx.discard(app.id, log);
  }
}
