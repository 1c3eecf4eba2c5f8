/**
 * Chosen ids (POST /dash/apps; self-hosted servers). The claim writes the app's id and admin token
 * (fresh UUIDs) on the record before the app exists, so from the claim on the record names its
 * app: no crash or lost answer can leave an app that no record names, and this path never lists
 * the account. A create that got no answer, timed out or met a 5xx is resolved by sending the same
 * create again:
 *   - 200: the app was made now;
 *   - already-exists: it was made before, and it is ours if this platform token can read it and
 *     its title is the record's name (otherwise the id is renewed: the app is someone else's, or
 *     was deleted, and an id is never used twice).
 * The server writes the app row before its rules and its schema, so an app whose create did not
 * answer with a clean 200 on the first try (or that this process knows nothing of) has its rules
 * and schema checked, and pushed where they differ, before the record is ready.
 *
 * On a server that refuses chosen ids (`creates: false`: a daemon on the server-id path meeting a
 * record claimed with a chosen id, during a rolling change) the record's app is adopted if it
 * exists; if it does not, the record gives its chosen id up and the server-id path takes over.
 */
import type { Clock } from '../../clock.js';
import { PlatformError, StoreError } from '../../errors.js';
import type { AppCreator, Ensured } from '../app-creator.js';
import type { Logger } from '../logger.js';
import { asPlatformError, type PlatformCalls } from '../platform-calls.js';
import type { Store } from '../ports.js';
import { syncTemplate } from '../template-sync.js';
import type { AppTemplate, CreatedApp, DatabaseRecord } from '../types.js';

/** What this process knows about a record it holds. */
interface Holding {
  recordId: string;
  /** The app's id and admin token, once known (from the claim, or read from the record). */
  app: CreatedApp | undefined;
  /** The app may lack its rules or schema: a create did not answer a clean 200, or we know nothing. */
  unclean: boolean;
  /** A create of ours that got no answer may still land until then (epoch ms). */
  mayLandUntil: number;
  /** The app exists because of us (or we found it ours). */
  made: boolean;
  /** The one immediate resend after an unanswered create is spent (until a create answers). */
  resent?: boolean;
}

export interface ChosenIdCreatorDeps {
  calls: PlatformCalls;
  /** Reads a record's admin token after a restart or takeover. */
  store: Pick<Store, 'readAdminToken'>;
  clock: Clock;
  newId: () => string;
}

export class ChosenIdCreator implements AppCreator {
  readonly path = 'chosen-id';
  private readonly held = new Map<string, Holding>();

  constructor(
    private readonly deps: ChosenIdCreatorDeps,
    /** Whether this server creates apps with chosen ids; without, records are adopted or handed to the server-id path. */
    private readonly creates: boolean,
  ) {}

  appForClaim(): CreatedApp {
    return { id: this.deps.newId(), adminToken: this.deps.newId() };
  }

  claimed(record: DatabaseRecord, app: CreatedApp | null): void {
    this.held.set(record.taskId, {
      recordId: record.id,
      app: app ?? undefined,
      unclean: false,
      mayLandUntil: 0,
      made: false,
    });
  }

  async ensureApp(record: DatabaseRecord, template: AppTemplate, log: Logger, signal: AbortSignal): Promise<Ensured> {
    const holding = this.holding(record);
    const ensured = await this.ensure(record, template, holding, log, signal);
    // Giving an id up while a create for it may still land would leave that app unnamed.
    const now = this.deps.clock.now();
    if (ensured.kind === 'renew' && holding.mayLandUntil > now)
      return { kind: 'wait', afterMs: holding.mayLandUntil - now };
    return ensured;
  }

  private async ensure(
    record: DatabaseRecord,
    template: AppTemplate,
    holding: Holding,
    log: Logger,
    signal: AbortSignal,
  ): Promise<Ensured> {
    const app = await this.appOf(record, holding);
    if (app === null) return { kind: 'renew', reason: 'the record names no app to create' };
    if (app === 'unreadable') {
      const message =
        'the admin token stored on the record cannot be opened (is PROVISIONER_TOKEN_KEY the one it was sealed with?)';
      return { kind: 'refused', error: new PlatformError('rejected', message) };
    }
    if (!this.creates)
      return this.adopt(
        record,
        app,
        template,
        holding,
        log,
        'adopting the app the record names (this server does not create with chosen ids)',
      );

    let horizon = 0;
    const attempt = await this.deps.calls.create(
      record,
      (signal) => this.deps.calls.platform.createAppWithId({ ...app, title: record.name }, template, signal),
      (mayLandUntil) => (horizon = mayLandUntil),
      signal,
    );
    switch (attempt.kind) {
      case 'not-sent':
        return { kind: 'wait', afterMs: 0 };
      case 'created':
        log.debug(
          { appId: app.id, attempt: record.attempts + 1, durationMs: this.deps.clock.now() - attempt.sentAt },
          'app created',
        );
        return this.ready(app, template, holding, log);
      case 'failed': {
        const { error } = attempt;
        // It exists: whatever else we sent for it can make nothing more.
        if (error.kind === 'already-exists')
          return this.adopt(record, app, template, holding, log, 'the app already exists (an earlier create landed)');
        if (error.scope === 'global' || error.kind === 'rate-limited') return { kind: 'wait', afterMs: 0 };
        if (!error.retryable) return { kind: 'refused', error };
        holding.unclean = true;
        if (!error.answered) holding.mayLandUntil = Math.max(holding.mayLandUntil, horizon);
        return { kind: 'failed', error, sentAt: attempt.sentAt };
      }
    }
  }

  /**
   * The app the record names exists already (a re-sent create found its id taken), or this server
   * cannot create it: ready with it if it is ours, its rules and schema checked; else a new id.
   */
  private async adopt(
    record: DatabaseRecord,
    app: CreatedApp,
    template: AppTemplate,
    holding: Holding,
    log: Logger,
    why: string,
  ): Promise<Ensured> {
    const ours = await this.isOurs(record, app);
    if (ours !== true) return ours;
    log.info({ appId: app.id }, `${why}; checking its rules and schema`);
    holding.unclean = true;
    return this.ready(app, template, holding, log);
  }

  /** True when this token reads the app and its title is the record's name; otherwise what to do. */
  private async isOurs(record: DatabaseRecord, app: CreatedApp): Promise<true | Ensured> {
    const { calls, clock } = this.deps;
    let listed;
    try {
      listed = await calls.call((signal) => calls.platform.getApp(app.id, signal));
    } catch (error) {
      const failure = asPlatformError(error);
      if (failure.kind === 'not-found')
        return { kind: 'renew', reason: `app ${app.id} does not exist (deleted, or never made here)` };
      if (failure.kind === 'rejected')
        return { kind: 'renew', reason: `app ${app.id} exists but this platform token cannot read it` };
      return { kind: 'failed', error: failure, sentAt: clock.now() };
    }
    if (listed.title !== record.name)
      return { kind: 'renew', reason: `app ${app.id} has another title ("${listed.title}"): not this record's` };
    return true;
  }

  /** The app exists: its rules and schema are checked first when its create was not clean. */
  private async ready(app: CreatedApp, template: AppTemplate, holding: Holding, log: Logger): Promise<Ensured> {
    holding.made = true;
    holding.mayLandUntil = 0;
    if (holding.unclean) {
      const { calls, clock } = this.deps;
      try {
        const pushed = await syncTemplate(
          calls.platform,
          clock,
          (operation) => calls.call(operation),
          app.id,
          template,
        );
        if (pushed.rules || pushed.schema)
          log.warn({ appId: app.id, ...pushed }, 'the app lacked its template after an unclean create; pushed it');
      } catch (error) {
        const failure = asPlatformError(error);
        return failure.retryable || failure.scope === 'global'
          ? { kind: 'failed', error: failure, sentAt: clock.now() }
          : { kind: 'refused', error: failure };
      }
      holding.unclean = false;
    }
    return { kind: 'app', app };
  }

  async afterFailedAttempt(record: DatabaseRecord, error: PlatformError): Promise<number | 'at-once'> {
    // The same create is sent again: nothing to clear up. It is idempotent, so a create that got no
    // answer (most often one that landed) is resent at once, once; the backoff is for what repeats.
    const holding = this.held.get(record.taskId);
    if (error.answered || !holding || holding.recordId !== record.id) {
      if (holding) holding.resent = false;
      return 0;
    }
    if (holding.resent) return 0;
    holding.resent = true;
    return 'at-once';
  }

  async removeApps(record: DatabaseRecord): Promise<number> {
    const now = this.deps.clock.now();
    const holding = this.held.get(record.taskId);
    // Deleting before a create of ours can no longer land would let it land afterwards.
    if (holding?.recordId === record.id && holding.mayLandUntil > now) return holding.mayLandUntil - now;
    if (record.instantAppId) await this.deps.calls.deleteApp(record.instantAppId);
    // A restore's new app, named on the record before it exists (src/core/operations/restore-database.ts).
    if (record.pendingAppId) await this.deps.calls.deleteApp(record.pendingAppId);
    return 0;
  }

  tookOver(record: DatabaseRecord): void {
    // The previous holder's creates have landed or failed by now (rule 2); what they did to the app is unknown.
    this.held.set(record.taskId, { recordId: record.id, app: undefined, unclean: true, mayLandUntil: 0, made: false });
  }

  async discard(_record: DatabaseRecord, app: CreatedApp, log: Logger): Promise<void> {
    await this.deps.calls.discard(app.id, log, 'the record names it: it goes when the record is removed');
  }

  async release(taskId: string, record: DatabaseRecord | null, log: Logger): Promise<void> {
    const holding = this.held.get(taskId);
    this.held.delete(taskId);
    // Only a record deleted by hand can lose the app it named: nobody else knows of it.
    if (holding?.made && holding.app && record === null) {
      log.info({ appId: holding.app.id }, 'the record naming our app is gone; deleting the app');
      await this.deps.calls.discard(holding.app.id, log, 'gc --match-names finds it');
    }
  }

  forget(taskId: string): void {
    this.held.delete(taskId);
  }

  settled(record: DatabaseRecord): boolean {
    const holding = this.held.get(record.taskId);
    return !(holding?.recordId === record.id && holding.mayLandUntil > this.deps.clock.now());
  }

  get remembered(): number {
    return this.held.size;
  }

  /** What we know of the record, or a worst-case entry for one we remember nothing of. */
  private holding(record: DatabaseRecord): Holding {
    const known = this.held.get(record.taskId);
    if (known?.recordId === record.id) return known;
    const fresh = { recordId: record.id, app: undefined, unclean: true, mayLandUntil: 0, made: false };
    this.held.set(record.taskId, fresh);
    return fresh;
  }

  /** The app the record names, with its admin token (read from the record when we do not hold it). */
  private async appOf(record: DatabaseRecord, holding: Holding): Promise<CreatedApp | null | 'unreadable'> {
    if (holding.app && holding.app.id === record.instantAppId) return holding.app;
    if (!record.instantAppId) return null;
    let adminToken: string | null;
    try {
      adminToken = await this.deps.store.readAdminToken(record.id);
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'rejected') return 'unreadable';
      throw error;
    }
    if (adminToken === null) return null;
    holding.app = { id: record.instantAppId, adminToken };
    return holding.app;
  }
}
