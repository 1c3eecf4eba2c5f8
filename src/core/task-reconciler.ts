/**
 * Reconciles one task: reads what the main app says, then takes the one step
 * that moves the task towards "linked to exactly one ready database". The
 * steps live in one file per phase: create-phase.ts (claim and create),
 * record-phase.ts (ready / failed), retire-phase.ts (the task is gone, or back).
 *
 * A record's life (status, and who holds its lease). Every arrow after the
 * claim is one fenced write:
 *
 *   (none) ──claim──▶ provisioning/us ──create ok──▶ ready ──task deleted──▶ detached
 *                        │   ▲                          ▲   (retain: retained)  │
 *                        │   └── create failed,         │                       │
 *                        │       retryable: retry later └──task re-created──────┤
 *                        ├── create rejected (4xx) or        with the same id   │
 *                        │   attempts used up ──▶ failed     (retained too)     │
 *                        └── task deleted ──▶ apps removed, record deleted      │
 *   provisioning/other ──lease expired──▶ takeover ──▶ provisioning/us          │
 *   failed ──task deleted──▶ apps by its title removed, record deleted          │
 *   detached ──grace passed──▶ detached/us (retiring: never re-attached) ◀──────┘
 *            ──▶ app deleted ──▶ record deleted (a crash between: the next lease
 *                holder finishes it)
 *
 * Never twice. Whether the record names its app before it exists (chosen ids) or the server
 * picks the id and a lost answer must be found by title, the AppCreator knows (app-creator.ts,
 * create-paths/); three rules make either safe:
 * 1. Every write to a record after the claim is fenced (Store.update): of two
 *    writers that read the same generation, one wins; the loser stops and, if
 *    it made an app nobody else can find, deletes it.
 * 2. A create is sent only while our lease has at least request timeout +
 *    settle margin left, so it has landed or failed for good before anyone may
 *    take the record over.
 * 3. Whoever may hold an unrecorded app (after a lost answer, or any takeover)
 *    makes sure of it before creating again: with a chosen id by sending the
 *    same create again (the id is taken or not); with a server id by listing
 *    apps by title once no create can still land, and deleting them.
 */
import { livesOn } from '../api-uri.js';
import { claimTask, provision } from './create-phase.js';
import type { Logger } from './logger.js';
import {
  done,
  ReconcileContext,
  retry,
  type Outcome,
  type ReconcilerDeps,
  type ReconcilerSettings,
} from './reconcile-context.js';
import { honourRetryRequest, reconsiderRefused } from './owner-phase.js';
import { reattach, releaseRecord, removeRecord, retireDetached, retireFinished } from './retire-phase.js';
import type { DatabaseRecord, TaskState, UnlinkedTask } from './types.js';

export type { Outcome, ReconcilerDeps, ReconcilerSettings } from './reconcile-context.js';
export { errorMessage } from './reconcile-context.js';

export class TaskReconciler {
  private readonly ctx: ReconcileContext;

  constructor(deps: ReconcilerDeps, settings: ReconcilerSettings) {
    this.ctx = new ReconcileContext(deps, settings);
  }

  /**
   * One pass over a task. With `unlinked` (the task as a read just showed it, without a
   * database), it tries the claim before reading anything: the claim transaction itself checks
   * that no record exists for the task and that the task exists, so the read would only cost a
   * round trip; any conflict falls back to a read.
   */
  async reconcile(taskId: string, signal: AbortSignal, options: { unlinked?: UnlinkedTask } = {}): Promise<Outcome> {
    const { ctx } = this;
    if (options.unlinked) return claimTask(ctx, options.unlinked, signal);
    const state = await ctx.deps.store.loadTask(taskId);
    const record = state.record;
    if (!record) {
      await ctx.creator.release(taskId, null, ctx.deps.logger.child({ taskId }));
      return this.claimUnlinked(state, signal);
    }

    const log = ctx.deps.logger.child({ taskId, databaseId: record.id });
    if (!livesOn(record.apiUri, ctx.settings.apiUri)) return this.elsewhere(state, record, log);
    const finished =
      (record.status === 'ready' && record.instantAppId) || record.status === 'failed' || record.status === 'retained';
    if (finished || record.status === 'detached' || record.status === 'refused') {
      await ctx.creator.release(taskId, record, log);
      const { retirement } = ctx.settings;
      if (record.status === 'refused')
        return reconsiderRefused(ctx, state, record, log, () =>
          removeRecord(ctx, record, 'task was deleted; removed its refused database record', log),
        );
      if (record.status === 'detached') return retireDetached(ctx, state, record, retirement, log);
      if (!state.task) return retireFinished(ctx, record, retirement, log);
      if (record.status === 'retained') return reattach(ctx, state, record, log);
      if (record.status === 'failed' && state.task.retryRequestedAt !== null)
        return honourRetryRequest(ctx, record, state.task.retryRequestedAt, log);
      return this.settled(state, record, log);
    }
    const working = record.status === 'provisioning' || record.status === 'copying';
    if (!working) {
      log.warn(
        { status: record.status, appId: record.instantAppId },
        'record is in a bad state; provisioning it again',
      );
    }

    const now = ctx.now;
    const leasedFor = ctx.foreignLease(record, now, log);
    if (leasedFor !== null) {
      await ctx.creator.release(taskId, record, log);
      return { kind: 'leased', afterMs: leasedFor };
    }

    let held = record;
    if (record.leaseOwner !== ctx.settings.owner || !working) {
      const taken = await ctx.lease(record, {
        status: working ? (record.status as 'provisioning' | 'copying') : 'provisioning',
      });
      if (typeof taken === 'string') return retry(0);
      held = taken;
      // Whatever the previous holder sent has landed or failed by now (rule 2), but
      // it may have made an app nobody recorded.
      ctx.creator.tookOver(held);
      log.info({ previousOwner: record.leaseOwner, generation: held.generation }, 'took over record');
    } else if (!ctx.leaseCovers(record, now)) {
      // Our own lease ran short (a long backoff): renew it, fenced, before anything
      // else, above all before deleting apps by title. If another daemon took the
      // record over meanwhile, this write loses and the apps are theirs to handle.
      const renewed = await ctx.lease(record);
      // Lost or gone: the next pass reads what won, and forgets only what it no longer holds.
      if (typeof renewed === 'string') return retry(0);
      held = renewed;
    }

    if (!state.task) return releaseRecord(ctx, held, log);
    return provision(ctx, held, log, signal);
  }

  /** How many tasks this process remembers something about (bounded by the work in flight); for tests. */
  get custodySize(): number {
    return this.ctx.creator.remembered;
  }

  /** A task without a record: claim it, unless it is gone or links to a record of another task. */
  private claimUnlinked(state: TaskState, signal: AbortSignal): Promise<Outcome> | Outcome {
    if (!state.task) return done('skipped');
    if (state.task.mainDatabaseId !== null) {
      this.ctx.deps.logger
        .child({ taskId: state.task.id })
        .warn(
          { databaseId: state.task.mainDatabaseId },
          'task links to a database record of another task; leaving it alone',
        );
      return done('skipped');
    }
    return claimTask(this.ctx, state.task, signal);
  }

  /**
   * A record whose app lives on another Instant server (moved by `migrate`, or left on the old
   * one after INSTANT_API_URI was switched): this daemon's Platform token is not for that server,
   * so it never creates, deletes or copies anything for it; it only keeps the task linked. A
   * daemon configured for that server does the rest.
   */
  private async elsewhere(state: TaskState, record: DatabaseRecord, log: Logger): Promise<Outcome> {
    // A failed record has no app anywhere: its owner's retry brings it here.
    if (record.status === 'failed' && state.task && state.task.retryRequestedAt !== null)
      return honourRetryRequest(this.ctx, record, state.task.retryRequestedAt, log, this.ctx.settings.apiUri);
    log.debug({ apiUri: record.apiUri, status: record.status }, 'its app lives on another server; leaving it alone');
    return this.settled(state, record, log);
  }

  /** A ready or failed record: make sure its task links to it, and stop. */
  private async settled(state: TaskState, record: DatabaseRecord, log: Logger): Promise<Outcome> {
    if (state.task && state.task.mainDatabaseId === null) {
      await this.ctx.deps.store.link(state.task.id, record.id);
      log.info({ status: record.status }, 'linked task to its existing database');
    }
    return done('skipped');
  }
}
