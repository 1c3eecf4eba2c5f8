/**
 * Asking for another try at a failed database: the owner writes `databaseRetryRequestedAt` (now)
 * on their own task. The shipped rules allow exactly that field on one's own task; the daemon
 * sees the write and provisions again, at most once a minute per task.
 */
import type { InstantReactAbstractDatabase } from '@instantdb/react';
import type { ProvisionerSchemaDef } from './schema-types.js';

/** The part of an `@instantdb/react` database `requestDatabaseRetry` uses. */
export type TaskDatabaseWriter<Schema extends ProvisionerSchemaDef> = Pick<
  InstantReactAbstractDatabase<Schema, boolean, any>,
  'transact' | 'tx'
>;

/** Writes `tasks[taskId].databaseRetryRequestedAt = now`; rejects when the server refuses it. */
export async function requestDatabaseRetry<Schema extends ProvisionerSchemaDef>(
  db: TaskDatabaseWriter<Schema>,
  taskId: string,
  now: number = Date.now(),
): Promise<void> {
  const tasks = (db.tx as unknown as Record<string, Record<string, { update(v: object): unknown }>>)['tasks']!;
  await db.transact(tasks[taskId]!.update({ databaseRetryRequestedAt: now }) as never);
}
