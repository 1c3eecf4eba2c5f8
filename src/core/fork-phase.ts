/**
 * Forks: a task created with `forkedFrom` an iteration gets an app that starts as a copy of the
 * database of that iteration's task (its source): made with the source's schema and rules instead
 * of the template, then its data copied in, then ready. See task-reconciler.ts for the states:
 *
 *   provisioning ──source ready──▶ app made (source's schema and rules) ──▶ copying ──copied, verified──▶ ready
 *        │  ▲                                                                   │
 *        └──┘ source still provisioning: wait                                  └── a copy that failed: tried
 *   source gone or failed: --fork-source-missing fail (failed, with why) or        again (ids are kept: one copy
 *                          template (an app from the template, no data)            of each entity), never ready
 *                                                                                  unverified
 *
 * Exactly once: the app is recorded on the record before the copy starts (`copying` names it), so
 * a kill during the copy leaves a record that names its app; whoever holds the record next copies
 * again into that app. A copy is verified (counts and checksums, read back) before `ready`.
 */
import { CopyError } from '../errors.js';
import type { Logger } from './logger.js';
import type { AppAtServer } from './ports.js';
import { retry, type Outcome, type ReconcileContext } from './reconcile-context.js';
import type { AppTemplate, DatabaseRecord } from './types.js';

/** How often a fork whose source is still being provisioned looks again. */
const SOURCE_WAIT_MS = 2_000;
/** Progress (and the lease with it) is written at most this often during a copy. */
const PROGRESS_EVERY_MS = 2_000;

/** Where a fork's data comes from. */
export interface ForkSource {
  app: AppAtServer;
  /** The source's schema and rules: what the fork's app is made with. */
  template: AppTemplate;
}

export type ForkOrigin =
  { kind: 'source'; source: ForkSource } | { kind: 'wait'; afterMs: number } | { kind: 'missing'; reason: string };

/** The source of a fork (`record.originIterationId`): its app and template, or why not now. */
export async function forkOrigin(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  signal: AbortSignal,
): Promise<ForkOrigin> {
  const iterationId = record.originIterationId!;
  const found = await ctx.deps.store.loadIterationDatabase(iterationId);
  if (!found)
    return { kind: 'missing', reason: `the iteration it was forked from (${iterationId}) or its task is gone` };
  const source = found.record;
  // Its task was just created and not claimed yet, or its database is being made: it will be ready.
  if (!source || source.status === 'provisioning' || source.status === 'copying')
    return { kind: 'wait', afterMs: SOURCE_WAIT_MS };
  if (source.status !== 'ready' || !source.instantAppId) {
    const why =
      source.status === 'detached' || source.status === 'retained' ? 'its task was deleted' : `it is ${source.status}`;
    return { kind: 'missing', reason: `the database it was forked from (${source.name}) cannot be copied: ${why}` };
  }
  const adminToken = await ctx.deps.store.readAdminToken(source.id);
  if (!adminToken)
    return { kind: 'missing', reason: `the database it was forked from (${source.name}) has no admin token` };
  const app = { id: source.instantAppId, adminToken, apiUri: source.apiUri ?? ctx.settings.apiUri };
  const template = await ctx.copier.templateOf(app, source.templateHash ?? `fork-of-${source.id}`, signal);
  return { kind: 'source', source: { app, template } };
}

/**
 * Copies the source's data into the record's app (which it names: the record is `copying`),
 * writing progress, and the lease with it, as it goes; then the record is ready. Returns the
 * record as copied (to record ready), or the outcome when the copy did not finish.
 */
export async function copyFork(
  ctx: ReconcileContext,
  record: DatabaseRecord,
  target: AppAtServer,
  source: ForkSource,
  log: Logger,
  signal: AbortSignal,
): Promise<{ copied: DatabaseRecord; entityCount: number } | { outcome: Outcome } | { failed: CopyError }> {
  let held = record;
  let lost = false;
  let writing: Promise<void> = Promise.resolve();
  let lastWrite = ctx.now;
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  const progress = (copied: number) => {
    if (ctx.now - lastWrite < PROGRESS_EVERY_MS || lost) return;
    lastWrite = ctx.now;
    writing = writing.then(async () => {
      const written = await ctx.lease(held, { copiedEntities: copied });
      if (typeof written === 'string') {
        // Someone took the record over (or it is gone): stop copying, they will do it.
        lost = true;
        stop.abort();
      } else held = written;
    });
  };
  try {
    const { entityCount } = await ctx.copier.copy(source.app, target, progress, stop.signal);
    await writing;
    if (lost) return { outcome: retry(0) };
    log.info({ appId: target.id, sourceAppId: source.app.id, entityCount }, 'copied the fork’s data');
    return { copied: held, entityCount };
  } catch (error) {
    await writing.catch(() => {});
    if (lost) return { outcome: retry(0) };
    if (error instanceof CopyError) return { failed: error };
    throw error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
