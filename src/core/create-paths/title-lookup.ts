/**
 * Server-picked ids (POST /superadmin/apps), for servers that refuse chosen ids (Instant Cloud
 * since sign-ups closed). The server shows an app's admin token only in its answer, so an app
 * whose answer was lost cannot be adopted: it must be found by title (the record's unique name)
 * and deleted before creating again. That is rule 3 of task-reconciler.ts, kept here with what
 * it needs: the custody book (what this process may have made and when a create can no longer
 * land), the app directory (listings shared by every lookup) and the orphan sweep.
 */
import type { Clock } from '../../clock.js';
import type { PlatformError } from '../../errors.js';
import type { AppCreator, Ensured } from '../app-creator.js';
import type { Logger } from '../logger.js';
import type { PlatformCalls } from '../platform-calls.js';
import { noTelemetry, type Telemetry } from '../ports.js';
import type { AppTemplate, CreatedApp, DatabaseRecord } from '../types.js';
import { madeAfter, type AppDirectory } from './app-directory.js';
import { CustodyBook, type Custody } from './custody.js';

const FOUND_LATER = 'it will be found by title and deleted later';

export class TitleLookupCreator implements AppCreator {
  readonly path = 'server-id';
  private readonly book = new CustodyBook();

  constructor(
    private readonly calls: PlatformCalls,
    private readonly directory: AppDirectory,
    private readonly clock: Clock,
    private readonly telemetry: Telemetry = noTelemetry,
  ) {}

  appForClaim(): null {
    return null;
  }

  claimed(record: DatabaseRecord): void {
    this.book.claimed(record.taskId, record.id);
  }

  /** Clears up what an earlier create may have left (rule 3), then creates. */
  async ensureApp(record: DatabaseRecord, template: AppTemplate, log: Logger, signal: AbortSignal): Promise<Ensured> {
    const now = this.clock.now();
    const custody = this.book.of(record.taskId, record.id, now);
    // Made, but the write that records it failed: record it again, do not create another.
    if (custody.createdApp) return { kind: 'app', app: custody.createdApp };
    if (custody.mayHaveApp) {
      if (now < custody.notBefore) return { kind: 'wait', afterMs: custody.notBefore - now };
      await this.removeAppsTitled(record, custody.notBefore, record.instantAppId, log);
      custody.appsRemoved();
    }
    const attempt = await this.calls.create(
      record,
      (signal) => this.calls.platform.createApp(record.name, template, signal),
      (mayLandUntil) => custody.createSent(mayLandUntil),
      signal,
    );
    switch (attempt.kind) {
      case 'not-sent':
        // Waited so long for a slot that the lease ran short; renew on the next pass.
        return { kind: 'wait', afterMs: 0 };
      case 'created':
        // A step, not a state clients see: 'database ready' follows at once (info costs a write per line).
        log.debug(
          { appId: attempt.value.id, attempt: record.attempts + 1, durationMs: this.clock.now() - attempt.sentAt },
          'app created',
        );
        custody.appMade(attempt.value);
        return { kind: 'app', app: attempt.value };
      case 'failed':
        return this.failed(custody, template, attempt.error, attempt.sentAt, log);
    }
  }

  private failed(custody: Custody, template: AppTemplate, error: PlatformError, sentAt: number, log: Logger): Ensured {
    const now = this.clock.now();
    if (error.scope === 'global' || error.kind === 'rate-limited') {
      // Nothing was created, and it is not this task's fault: the gate now holds
      // every create back, and this task waits there on its next pass.
      custody.createFailed(false, now);
      log.debug({ kind: error.kind, retryAfterMs: error.retryAfterMs }, 'create refused for every task');
      return { kind: 'wait', afterMs: 0 };
    }
    const { requestTimeoutMs, settleMarginMs } = this.calls.settings;
    // The server writes the app before it applies the schema, so a create with a
    // schema that was refused may still have made one.
    const mayHaveCreated = error.mayHaveCreated || (error.kind === 'rejected' && template.schema !== null);
    custody.createFailed(mayHaveCreated, error.answered ? now : sentAt + requestTimeoutMs + settleMarginMs);
    return error.retryable ? { kind: 'failed', error, sentAt } : { kind: 'refused', error };
  }

  /**
   * After a create that got no answer: looks at once, from a listing that starts now, whether its
   * app was made. If so, that request can make no other (one request, one app), so it is deleted
   * and the next create may go at once. If not, the request may still land, and the next create
   * waits it out (rule 2).
   */
  async afterFailedAttempt(record: DatabaseRecord, error: PlatformError, log: Logger): Promise<number | 'at-once'> {
    const custody = this.book.get(record.taskId);
    if (!custody?.mayHaveApp) return 0;
    const now = this.clock.now();
    if (!error.answered && (await this.removeAppsTitled(record, now, record.instantAppId, log)) > 0) {
      custody.appsRemoved();
      return 'at-once';
    }
    return Math.max(0, custody.notBefore - now);
  }

  async removeApps(record: DatabaseRecord, log: Logger): Promise<number> {
    const now = this.clock.now();
    const custody = this.book.of(record.taskId, record.id, now);
    if (custody.createdApp) {
      await this.calls.deleteApp(custody.createdApp.id);
      custody.createdApp = undefined;
    }
    if (custody.mayHaveApp) {
      if (now < custody.notBefore) return custody.notBefore - now;
      await this.removeAppsTitled(record, custody.notBefore, record.instantAppId, log);
      custody.appsRemoved();
    }
    if (record.instantAppId) await this.calls.deleteApp(record.instantAppId);
    // A restore's new app, named on the record before it exists (src/core/operations/restore-database.ts).
    if (record.pendingAppId) await this.calls.deleteApp(record.pendingAppId);
    return 0;
  }

  tookOver(record: DatabaseRecord): void {
    // Whatever the previous holder sent has landed or failed by now (rule 2), but
    // it may have made an app nobody recorded.
    this.book.assumeUnknown(record.taskId, record.id, this.clock.now());
  }

  async discard(record: DatabaseRecord, app: CreatedApp, log: Logger): Promise<void> {
    await this.calls.discard(app.id, log, FOUND_LATER);
    const now = this.clock.now();
    this.book.of(record.taskId, record.id, now).appDiscarded(now);
  }

  async release(taskId: string, record: DatabaseRecord | null, log: Logger): Promise<void> {
    const custody = this.book.get(taskId);
    if (!custody) return;
    this.book.forget(taskId);
    const app = custody.createdApp;
    // Best effort: whoever holds the record also looks for it by title.
    if (app && app.id !== record?.instantAppId) {
      log.info({ appId: app.id }, 'the record does not hold the app we made; deleting it');
      await this.calls.discard(app.id, log, FOUND_LATER);
    }
  }

  forget(taskId: string): void {
    this.book.forget(taskId);
  }

  settled(record: DatabaseRecord): boolean {
    const custody = this.book.get(record.taskId);
    return custody === undefined || custody.recordId !== record.id || custody.clean;
  }

  get remembered(): number {
    return this.book.size;
  }

  /**
   * Deletes apps titled with the record's name, except `keep`, from a listing that started after
   * `notBefore` (rule 3); returns how many. Apps older than the record are someone else's and
   * never touched.
   */
  private async removeAppsTitled(
    record: DatabaseRecord,
    notBefore: number,
    keep: string | null,
    log: Logger,
  ): Promise<number> {
    const apps = await this.directory.findByTitle(record.name, notBefore);
    let deleted = 0;
    for (const app of apps) {
      if (app.id === keep) continue;
      if (!madeAfter(app, record.createdAt)) {
        log.warn({ appId: app.id }, 'an app with this title predates the record; not ours, leaving it');
        continue;
      }
      await this.calls.deleteApp(app.id);
      deleted++;
      this.telemetry.orphanDeleted(app.id);
      log.info({ appId: app.id, databaseName: record.name }, 'deleted orphan app');
    }
    return deleted;
  }
}
