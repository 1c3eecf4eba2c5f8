/**
 * `instant-provisioner retry`: puts failed records back to work. Each is one
 * fenced write to `provisioning` with its attempts reset and no lease, so the
 * next daemon (or `reconcile --once`) takes it over like any unleased record:
 * it looks for apps under its name first, then creates.
 *
 * A failed record has no app anywhere (the daemon deletes every app it may have before failing it),
 * so a retry also brings a record failed on another server (Instant Cloud, before a move) to this
 * one: its next create is sent here.
 */
import { livesOn } from '../../api-uri.js';
import type { Logger } from '../logger.js';
import type { RecordCatalog, Store } from '../ports.js';
import { isUniqueViolation } from '../reconcile-context.js';
import { backToWork, type DatabaseRecord } from '../types.js';

export type RetryOutcome = 'retried' | 'not-failed' | 'not-found';

export interface RetryDeps {
  store: Store & RecordCatalog;
  logger: Logger;
  /** Who writes (fences record the writer). */
  owner: string;
  /** The configured server (normalized): where a retried record's next create goes. */
  home: string;
}

/** Retries the failed records of `taskIds`; each gets its outcome. */
export async function retryTasks(
  deps: RetryDeps,
  taskIds: readonly string[],
): Promise<Array<{ taskId: string; outcome: RetryOutcome }>> {
  const results: Array<{ taskId: string; outcome: RetryOutcome }> = [];
  for (const taskId of taskIds) {
    const { record } = await deps.store.loadTask(taskId);
    results.push({ taskId, outcome: record ? await retryRecord(deps, record) : 'not-found' });
  }
  return results;
}

/** Retries every failed record; returns how many were put back to work. */
export async function retryAllFailed(deps: RetryDeps, pageSize = 100): Promise<number> {
  let retried = 0;
  const skipped = new Set<string>();
  for (;;) {
    // Retried records leave the query; one that could not be retried stays and is skipped.
    const page = (await deps.store.listRecordsWithStatus(['failed'], pageSize + skipped.size)).filter(
      (record) => !skipped.has(record.id),
    );
    if (page.length === 0) return retried;
    for (const record of page) {
      if ((await retryRecord(deps, record)) === 'retried') retried++;
      else skipped.add(record.id);
    }
  }
}

async function retryRecord(deps: RetryDeps, record: DatabaseRecord): Promise<RetryOutcome> {
  if (record.status !== 'failed') return 'not-failed';
  try {
    await deps.store.update(record, deps.owner, backToWork(livesOn(record.apiUri, deps.home) ? undefined : deps.home));
  } catch (error) {
    // Someone else moved it first (another retry, or its task was deleted): read it again.
    if (!isUniqueViolation(error, 'databaseFences', 'key')) throw error;
    const { record: latest } = await deps.store.loadTask(record.taskId);
    return latest ? retryRecord(deps, latest) : 'not-found';
  }
  deps.logger.info(
    {
      taskId: record.taskId,
      databaseId: record.id,
      databaseName: record.name,
      previousError: record.error,
      ...(livesOn(record.apiUri, deps.home) ? {} : { from: record.apiUri, apiUri: deps.home }),
    },
    'retrying failed database',
  );
  return 'retried';
}
