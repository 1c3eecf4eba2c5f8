/**
 * `instant-provisioner migrate`: every ready task database that lives on the source (the configured
 * INSTANT_API_URI), or those of the given tasks, moved to the target server with its app id and
 * admin token (migrate-app.ts does one app).
 *
 *   0. the target is asked whether it creates apps with chosen ids (nothing is created): a target
 *      that refuses them, or rejects its token, ends the run before anything changes;
 *   1. every record that names no server is stamped with the source (fenced), so that once the
 *      operator points INSTANT_API_URI at the target no record's home is ambiguous;
 *   2. the apps, at most `concurrency` at once; a 429 from a server pauses every request to it.
 *      Records already on the target (an earlier run) get their source app finished: thawed if a
 *      kill left it frozen, or deleted under `--source-app delete`.
 *
 * Resumable and idempotent: run it again and what was moved stays moved, what was half done is
 * finished. A failure ends that app only, with its reason; a global refusal of the target ends the
 * run (`abortedBy`). `planMigration` is the dry run: what would move, counted through the admin API.
 */
import type PQueue from 'p-queue';
import { AbortedError } from '../../clock.js';
import { livesOn } from '../../api-uri.js';
import { PlatformError } from '../../errors.js';
import type { RecordCatalog } from '../ports.js';
import { errorMessage } from '../reconcile-context.js';
import type { DatabaseRecord } from '../types.js';
import {
  AppMove,
  MoveFailed,
  refusesChosenIds,
  targetTokenRejected,
  type MoveDeps,
  type MoveSettings,
  type Survey,
} from './migrate-app.js';
import { pacedCall } from './paced-call.js';
import { RecordMovedError, writeFenced } from './record-moves.js';

export interface MigrateDeps extends MoveDeps {
  catalog: Pick<RecordCatalog, 'listStoredTokens' | 'listRecordsWithoutApiUri' | 'countRecords'>;
  /** The admin token in a stored value (sealed or plain); throws when it cannot be opened. */
  openToken: (record: DatabaseRecord, stored: string) => string;
  /** At most `concurrency` apps at once. */
  slots: PQueue;
}

export interface MigrateSettings extends MoveSettings {
  /** The tasks whose databases move, or every ready one on the source. */
  tasks: readonly string[] | 'all';
  pageSize: number;
}

export interface MovedApp {
  taskId: string;
  name: string;
  appId: string;
  entityCount: number;
  /** What became of the source app. */
  sourceApp: string;
}

export interface MigrateFailure {
  taskId: string;
  appId: string | null;
  reason: string;
}

export interface MigrateSummary {
  /** Records that named no server and were stamped with the source first. */
  stamped: number;
  moved: MovedApp[];
  /** Already on the target from an earlier run; `sourceApp` says what was finished now. */
  alreadyMoved: Array<Omit<MovedApp, 'entityCount'>>;
  failed: MigrateFailure[];
  /** Why the run ended before its end: the target refused chosen ids or its token. */
  abortedBy: string | null;
  interrupted: boolean;
}

/** Progress: apps finished of `total` (which may grow), and entities copied so far. */
export type MigrateProgress = (progress: { done: number; total: number; entities: number }) => void;

/** A record with the admin token stored on it, as stored. */
interface Candidate {
  record: DatabaseRecord;
  stored: string;
}

export async function migrateDatabases(
  deps: MigrateDeps,
  settings: MigrateSettings,
  signal: AbortSignal,
  onProgress: MigrateProgress = () => {},
): Promise<MigrateSummary> {
  const summary: MigrateSummary = {
    stamped: 0,
    moved: [],
    alreadyMoved: [],
    failed: [],
    abortedBy: null,
    interrupted: false,
  };
  summary.abortedBy = await askTarget(deps, settings, signal);
  if (summary.abortedBy) return summary;
  summary.stamped = await stampRecords(deps, settings, summary, signal);

  const total = settings.tasks === 'all' ? await readyCount(deps) : settings.tasks.length;
  let copied = 0;
  const progress = () => {
    const done = summary.moved.length + summary.alreadyMoved.length + summary.failed.length;
    onProgress({ done, total: Math.max(total, done), entities: copied });
  };
  progress();
  const fail = (record: DatabaseRecord | null, taskId: string, reason: string) => {
    deps.logger.error({ taskId, appId: record?.instantAppId ?? null, error: reason }, 'migrate failed');
    summary.failed.push({ taskId, appId: record?.instantAppId ?? null, reason });
    progress();
  };
  const stop = () => signal.aborted || summary.abortedBy !== null;

  const work = async ({ record, stored }: Candidate) => {
    if (stop()) return;
    let adminToken: string;
    try {
      adminToken = deps.openToken(record, stored);
    } catch (error) {
      return fail(record, record.taskId, `cannot open the stored admin token (${errorMessage(error)})`);
    }
    const app = { id: record.instantAppId!, adminToken };
    const move = new AppMove(deps, settings, record, app, signal);
    const entry = { taskId: record.taskId, name: record.name, appId: app.id };
    try {
      if (record.apiUri === settings.target) {
        summary.alreadyMoved.push({ ...entry, sourceApp: await move.finishMoved() });
        return progress();
      }
      let entities = 0;
      const moved = await move.move((count) => {
        copied += count - entities;
        entities = count;
        progress();
      });
      summary.moved.push({ ...entry, ...moved });
      progress();
    } catch (error) {
      if (error instanceof AbortedError || signal.aborted) return;
      if (error instanceof MoveFailed && error.global) {
        summary.abortedBy ??= error.message;
        return;
      }
      fail(record, record.taskId, errorMessage(error));
    }
  };

  for await (const found of candidates(deps, settings, signal)) {
    if (stop()) break;
    if ('reason' in found) {
      fail(null, found.taskId, found.reason);
      continue;
    }
    void deps.slots.add(() => work(found));
    // At most a few pages of work held: memory stays flat whatever the number of records.
    await deps.slots.onSizeLessThan(deps.slots.concurrency * 2);
  }
  await deps.slots.onIdle();
  summary.interrupted = signal.aborted;
  return summary;
}

/** What a migrate would do, changing nothing: the apps with their entities and estimated bytes. */
export interface MigrationPlan {
  /** Records that name no server (a run stamps them with the source first). */
  toStamp: number;
  apps: Array<{
    taskId: string;
    name: string;
    appId: string;
    survey: Survey;
    /** The target already has this app (an earlier run). */
    onTarget: boolean;
  }>;
  alreadyMoved: number;
  /** Records not ready in the whole main app, by status: they are not moved. */
  notReady: Record<string, number>;
  failed: MigrateFailure[];
  abortedBy: string | null;
  interrupted: boolean;
}

export async function planMigration(
  deps: MigrateDeps,
  settings: MigrateSettings,
  signal: AbortSignal,
  onProgress: MigrateProgress = () => {},
): Promise<MigrationPlan> {
  const plan: MigrationPlan = {
    toStamp: 0,
    apps: [],
    alreadyMoved: 0,
    notReady: {},
    failed: [],
    abortedBy: null,
    interrupted: false,
  };
  plan.abortedBy = await askTarget(deps, settings, signal);
  if (plan.abortedBy) return plan;
  for (let offset = 0; ; offset += settings.pageSize) {
    const page = await deps.catalog.listRecordsWithoutApiUri(settings.pageSize, offset);
    plan.toStamp += page.length;
    if (page.length < settings.pageSize) break;
  }
  const { byStatus } = await deps.catalog.countRecords();
  plan.notReady = Object.fromEntries(Object.entries(byStatus).filter(([status]) => status !== 'ready'));
  const total = settings.tasks === 'all' ? (byStatus['ready'] ?? 0) : settings.tasks.length;
  let entities = 0;
  const progress = () => {
    const done = plan.apps.length + plan.alreadyMoved + plan.failed.length;
    onProgress({ done, total: Math.max(done, total), entities });
  };
  const survey = async ({ record, stored }: Candidate) => {
    if (signal.aborted) return;
    try {
      if (record.apiUri === settings.target) {
        plan.alreadyMoved++;
        return progress();
      }
      const app = { id: record.instantAppId!, adminToken: deps.openToken(record, stored) };
      const counted = await deps.data.survey(app, signal);
      const onTarget = await onTargetAlready(deps, app.id, signal);
      plan.apps.push({ taskId: record.taskId, name: record.name, appId: app.id, survey: counted, onTarget });
      entities += counted.entityCount;
    } catch (error) {
      if (error instanceof AbortedError || signal.aborted) return;
      plan.failed.push({ taskId: record.taskId, appId: record.instantAppId, reason: errorMessage(error) });
    }
    progress();
  };
  for await (const found of candidates(deps, settings, signal)) {
    if (signal.aborted) break;
    if ('reason' in found) {
      plan.failed.push({ taskId: found.taskId, appId: null, reason: found.reason });
      continue;
    }
    void deps.slots.add(() => survey(found));
    await deps.slots.onSizeLessThan(deps.slots.concurrency * 2);
  }
  await deps.slots.onIdle();
  plan.interrupted = signal.aborted;
  return plan;
}

/** Null when the target creates apps with chosen ids; otherwise the one line that ends the run. */
async function askTarget(deps: MigrateDeps, settings: MigrateSettings, signal: AbortSignal): Promise<string | null> {
  const { clock, random, requestTimeoutMs, targetPause, target } = deps;
  try {
    const answer = await pacedCall(
      { clock, random, requestTimeoutMs, pause: targetPause },
      (deadline) => target.probeChosenIds(deadline),
      signal,
    );
    return answer === 'allowed' ? null : refusesChosenIds(settings.target);
  } catch (error) {
    if (!(error instanceof PlatformError)) throw error;
    if (error.kind === 'token-rejected') return targetTokenRejected(settings.target, error);
    if (error.kind === 'creation-disabled') return refusesChosenIds(settings.target);
    return `the target ${settings.target} did not answer whether it creates apps with chosen ids (${error.message})`;
  }
}

async function onTargetAlready(deps: MigrateDeps, appId: string, signal: AbortSignal): Promise<boolean> {
  const { clock, random, requestTimeoutMs, targetPause, target } = deps;
  try {
    await pacedCall(
      { clock, random, requestTimeoutMs, pause: targetPause },
      (deadline) => target.getApp(appId, deadline),
      signal,
    );
    return true;
  } catch (error) {
    if (error instanceof PlatformError && (error.kind === 'not-found' || error.kind === 'rejected')) return false;
    throw error;
  }
}

/** Step 1: every record that names no server gets the source's URI (fenced); returns how many. */
async function stampRecords(
  deps: MigrateDeps,
  settings: MigrateSettings,
  summary: MigrateSummary,
  signal: AbortSignal,
): Promise<number> {
  const skipped = new Set<string>();
  let stamped = 0;
  while (!signal.aborted) {
    // Stamped records leave the query, so every page starts over; failed ones stay and are skipped.
    const page = (await deps.catalog.listRecordsWithoutApiUri(settings.pageSize + skipped.size)).filter(
      (record) => !skipped.has(record.id),
    );
    if (page.length === 0) break;
    await Promise.all(
      page.map(async (record) => {
        try {
          await writeFenced(deps.store, deps.owner, record, { apiUri: settings.source }, (latest) =>
            latest.apiUri === null ? null : 'it names a server already',
          );
          stamped++;
        } catch (error) {
          // Someone else stamped it (a daemon claiming it again): nothing left to do.
          if (error instanceof RecordMovedError && error.latest?.apiUri) return;
          skipped.add(record.id);
          summary.failed.push({
            taskId: record.taskId,
            appId: record.instantAppId,
            reason: `could not stamp the record with the source server (${errorMessage(error)})`,
          });
        }
      }),
    );
  }
  if (stamped > 0) deps.logger.info({ stamped, source: settings.source }, 'stamped records with the source server');
  return stamped;
}

/** Ready records on the source or already on the target, with their stored tokens; or why a named task has none. */
async function* candidates(
  deps: MigrateDeps,
  settings: MigrateSettings,
  signal: AbortSignal,
): AsyncIterable<Candidate | { taskId: string; reason: string }> {
  const concerned = (record: DatabaseRecord) =>
    livesOn(record.apiUri, settings.source) || record.apiUri === settings.target;
  if (settings.tasks !== 'all') {
    for (const taskId of new Set(settings.tasks)) {
      if (signal.aborted) return;
      const loaded = await deps.store.loadStoredTokens(taskId);
      const record = loaded?.record;
      if (!record) yield { taskId, reason: 'this task has no database record' };
      else if (record.status !== 'ready' || !record.instantAppId || !loaded.adminToken)
        yield { taskId, reason: `its database is ${record.status}, not ready: only ready databases move` };
      else if (!concerned(record))
        yield { taskId, reason: `its database lives on ${record.apiUri}, neither the source nor the target` };
      else yield { record, stored: loaded.adminToken };
    }
    return;
  }
  for (let offset = 0; !signal.aborted; offset += settings.pageSize) {
    const page = await deps.catalog.listStoredTokens(settings.pageSize, offset);
    for (const { record, adminToken } of page)
      if (record.status === 'ready' && record.instantAppId && concerned(record)) yield { record, stored: adminToken };
    if (page.length < settings.pageSize) break;
  }
}

async function readyCount(deps: MigrateDeps): Promise<number> {
  return (await deps.catalog.countRecords()).byStatus['ready'] ?? 0;
}
