/**
 * `instant-provisioner restore --task ID --from ARCHIVE`: the task's database becomes a new app
 * holding the archive, on the record's server; the old app is kept (renamed) or deleted.
 *
 * Exactly one app per task holds through a kill at any point, because the record names the new app
 * before it exists:
 *
 *   1. fenced write: `pendingAppId` + `pendingAdminToken` (fresh UUIDs; the token sealed as any);
 *   2. create with that chosen id (POST /dash/apps: idempotent; `already-exists` is our earlier
 *      try when this platform token reads it and its title is the record's name; an unclean create
 *      gets its rules and schema checked and pushed first);
 *   3. copy the archive into it (upserts: a copy run again leaves one copy of each entity) and
 *      verify it (counts and content checksums, read back from the app);
 *   4. keep: rename the old app "<name> (replaced <date>)", so no sweep takes it for a leftover;
 *   5. one fenced write moves the record: `instantAppId`, `adminToken` := the new app's, the pending
 *      fields cleared, `templateHash` cleared (the app has the archive's rules and schema, which may
 *      be no template: `template push` brings it to the current one), `createdVia` := chosen-id;
 *   6. delete: the old app is deleted.
 *
 * A run that finds a pending app resumes it (same app, the copy written again). A resumed copy that
 * does not verify (an earlier run copied another archive into it) gives the pending app up — deleted,
 * then a new pending id written — and starts once more. Until step 5 the live app is the old one
 * and browsers see nothing; step 5 is one record write, which they see live. A kill between 5 and 6
 * leaves the old app as it was (`gc` lists it: titled with the record's name, not its app).
 */
import { CopyError, PlatformError, StoreError } from '../../errors.js';
import { livesOn } from '../../api-uri.js';
import type { Clock } from '../../clock.js';
import type { Logger } from '../logger.js';
import type { PlatformClient, StoredTokens, TemplateClient } from '../ports.js';
import { errorMessage } from '../reconcile-context.js';
import { syncTemplate } from '../template-sync.js';
import type { AppTemplate, CreatedApp, DatabaseRecord } from '../types.js';
import { pacedCall, type ServerPause } from './paced-call.js';
import { RecordMovedError, writeFenced, type MovesStore } from './record-moves.js';

/** The archive being restored (src/copy/archive-restore.ts), already checked whole. Errors are CopyError. */
export interface RestoreArchive {
  readonly dir: string;
  /** Its schema (definition format; null: none) and rules (null: none): what the new app is created with. */
  readonly schema: Record<string, unknown> | null;
  readonly rules: Record<string, unknown> | null;
  readonly entityCount: number;
  /** Copies the archive into the app on `apiUri` and verifies it; resolves with the entities copied. */
  copyInto(app: CreatedApp, signal: AbortSignal, onEntities: (entities: number) => void): Promise<number>;
}

/** The Platform API as a restore uses it, with the configured platform token. */
export type RestorePlatform = Pick<PlatformClient, 'createAppWithId' | 'getApp' | 'probeChosenIds' | 'deleteApp'> &
  TemplateClient & {
    renameApp(appId: string, title: string, signal: AbortSignal): Promise<void>;
  };

export interface RestoreDeps {
  store: MovesStore;
  platform: RestorePlatform;
  /** The admin token in a stored value (sealed or plain); throws when it cannot be opened. */
  openToken: (record: DatabaseRecord, stored: string) => string;
  /** The configured server (normalized): only records living on it are restored. */
  home: string;
  /** The server's pause: a 429 holds every request to it back. */
  pause: ServerPause;
  clock: Clock;
  random: () => number;
  newId: () => string;
  logger: Logger;
  owner: string;
  requestTimeoutMs: number;
}

export interface RestoreRequest {
  taskId: string;
  archive: RestoreArchive;
  oldApp: 'keep' | 'delete';
}

/** How a restore ended. */
export type RestoreOutcome =
  | {
      kind: 'restored';
      taskId: string;
      oldAppId: string;
      newAppId: string;
      entityCount: number;
      /** A pending app from an earlier run was finished. */
      resumed: boolean;
      /** What became of the old app, in words (kept and renamed, deleted, or what went wrong). */
      oldApp: string;
    }
  /** Bad input or a server that cannot do it: nothing to retry as is (exit 2). */
  | { kind: 'refused'; reason: string }
  /** Something failed on the way; a rerun resumes (exit 1). */
  | { kind: 'failed'; reason: string; pendingAppId: string | null };

/** Thrown inside a restore to end it with that outcome. */
class Outcome extends Error {
  constructor(readonly outcome: RestoreOutcome) {
    super(outcome.kind === 'restored' ? 'restored' : outcome.reason);
  }
}

/** Restores the archive into a new app of the task; rejects only with AbortedError (a stop) or a bug. */
export async function restoreDatabase(
  deps: RestoreDeps,
  request: RestoreRequest,
  signal: AbortSignal,
  onProgress: (entities: number, total: number) => void = () => {},
): Promise<RestoreOutcome> {
  const restore = new Restore(deps, request, signal, onProgress);
  try {
    return await restore.run();
  } catch (error) {
    if (error instanceof Outcome) return error.outcome;
    if (error instanceof StoreError || error instanceof CopyError)
      return { kind: 'failed', reason: error.message, pendingAppId: restore.pendingAppId };
    throw error;
  }
}

class Restore {
  private record!: DatabaseRecord;
  private pending: CreatedApp | null = null;
  private readonly log: Logger;

  constructor(
    private readonly deps: RestoreDeps,
    private readonly request: RestoreRequest,
    private readonly signal: AbortSignal,
    private readonly onProgress: (entities: number, total: number) => void,
  ) {
    this.log = deps.logger.child({ taskId: request.taskId });
  }

  get pendingAppId(): string | null {
    return this.pending?.id ?? null;
  }

  async run(): Promise<RestoreOutcome> {
    const { taskId } = this.request;
    const loaded = await this.deps.store.loadStoredTokens(taskId);
    this.checkRestorable(loaded);
    this.record = loaded!.record;
    const oldAppId = this.record.instantAppId!;
    this.pending = this.openPending(loaded!);
    const resumed = this.pending !== null;
    if (resumed) this.log.info({ pendingAppId: this.pending!.id }, 'resuming the restore of a pending app');
    else await this.choosePending();

    let entityCount: number;
    try {
      await this.ensurePendingApp();
      entityCount = await this.copy();
    } catch (error) {
      // A resumed app may hold another archive's entities: give it up once and start over.
      if (!resumed || !isVerifyFailure(error)) throw error;
      this.log.warn(
        { pendingAppId: this.pending!.id, error: (error as Error).message },
        'the resumed copy does not verify; starting over with a new app',
      );
      await this.call((signal) => this.deps.platform.deleteApp(this.pending!.id, signal), 'delete the pending app');
      await this.choosePending();
      await this.ensurePendingApp();
      entityCount = await this.copy();
    }
    const newApp = this.pending!;
    const renamed = this.request.oldApp === 'keep' ? await this.renameOldApp(oldAppId) : null;
    await this.moveRecord(newApp);
    this.log.info({ appId: newApp.id, oldAppId, entityCount }, 'restored');
    const oldApp = renamed ?? (await this.deleteOldApp(oldAppId));
    return { kind: 'restored', taskId, oldAppId, newAppId: newApp.id, entityCount, resumed, oldApp };
  }

  private checkRestorable(loaded: StoredTokens | null): void {
    const { taskId } = this.request;
    if (!loaded) throw refused(`task ${taskId} has no database record`);
    const { record } = loaded;
    if (record.status !== 'ready' || !record.instantAppId || !loaded.adminToken)
      throw refused(`the database of task ${taskId} is ${record.status}, not ready: only ready databases are restored`);
    if (!livesOn(record.apiUri, this.deps.home))
      throw refused(
        `the database of task ${taskId} lives on ${record.apiUri}, not on ${this.deps.home}: run restore with INSTANT_API_URI (and the platform token) of that server`,
      );
  }

  /** The pending app an earlier run chose, with its admin token; null when there is none. */
  private openPending(loaded: StoredTokens): CreatedApp | null {
    const id = loaded.record.pendingAppId;
    if (!id || !loaded.pendingAdminToken) return null;
    try {
      return { id, adminToken: this.deps.openToken(loaded.record, loaded.pendingAdminToken) };
    } catch (error) {
      throw failed(
        `the pending app's stored admin token cannot be opened (${errorMessage(error)}); is PROVISIONER_TOKEN_KEY the one it was sealed with?`,
        id,
      );
    }
  }

  /** Chooses the new app's id and token and names them on the record (fenced) before the app exists. */
  private async choosePending(): Promise<void> {
    if (!this.pending) {
      // Asked once, before anything is written: a server that refuses chosen ids cannot restore.
      const answer = await this.call((signal) => this.deps.platform.probeChosenIds(signal), 'ask how apps are created');
      if (answer === 'refused') throw refused(refusesChosenIds(this.deps.home));
    }
    const app = { id: this.deps.newId(), adminToken: this.deps.newId() };
    const expected = this.pending?.id ?? null;
    this.record = await this.write({ pendingAppId: app.id, pendingAdminToken: app.adminToken }, (latest) =>
      (latest.pendingAppId ?? null) !== expected
        ? 'another restore of this task is under way'
        : latest.status !== 'ready'
          ? `it is ${latest.status}`
          : null,
    );
    this.pending = app;
    this.log.info({ pendingAppId: app.id }, 'named the new app on the record');
  }

  /** Makes sure the pending app exists, is ours and has the archive's rules and schema. */
  private async ensurePendingApp(): Promise<void> {
    for (let renewals = 0; ; renewals++) {
      const app = this.pending!;
      const made = await this.create(app);
      if (made === 'clean') return;
      if (made === 'unclean') return this.syncUnclean(app);
      if (renewals >= 2) throw failed(`cannot make the new app: ${made.renew}`, app.id);
      this.log.warn({ pendingAppId: app.id, reason: made.renew }, 'giving the pending app id up');
      await this.choosePending();
    }
  }

  private async create(app: CreatedApp): Promise<'clean' | 'unclean' | { renew: string }> {
    const { platform } = this.deps;
    const template = this.template();
    const sent = await this.attempt((signal) =>
      platform.createAppWithId({ ...app, title: this.record.name }, template, signal),
    );
    if (sent.ok) return 'clean';
    // Given up after no answer or 5xx, the app may exist without its rules: the next run resumes it.
    if (sent.error.kind !== 'already-exists') throw this.ended(sent.error, 'create the new app');
    // It exists: ours if this token reads it and it carries the record's name.
    const read = await this.attempt((signal) => platform.getApp(app.id, signal));
    if (read.ok)
      return read.value.title === this.record.name
        ? 'unclean'
        : { renew: `app ${app.id} has another title ("${read.value.title}")` };
    if (read.error.kind === 'not-found' || read.error.kind === 'rejected')
      return { renew: `app ${app.id} is taken but not readable as ours (deleted, or another account's)` };
    throw this.ended(read.error, 'read the new app');
  }

  /** After a create that did not answer a clean 200: its rules first (an app without them is open), then its schema. */
  private async syncUnclean(app: CreatedApp): Promise<void> {
    const { platform, clock } = this.deps;
    try {
      const pushed = await syncTemplate(
        platform,
        clock,
        (operation) => this.call(operation, 'check the new app'),
        app.id,
        this.template(),
      );
      if (pushed.rules || pushed.schema)
        this.log.warn({ pendingAppId: app.id, ...pushed }, 'the new app lacked its rules or schema; pushed them');
    } catch (error) {
      if (error instanceof Outcome) throw error;
      throw failed(`checking the new app's rules and schema: ${errorMessage(error)}`, app.id);
    }
  }

  private async copy(): Promise<number> {
    const { archive } = this.request;
    const app = this.pending!;
    try {
      return await archive.copyInto(app, this.signal, (entities) => this.onProgress(entities, archive.entityCount));
    } catch (error) {
      // The caller decides on a resumed copy that does not verify; the record still names the app.
      if (isVerifyFailure(error)) throw error;
      if (error instanceof CopyError && error.kind === 'archive-invalid') throw refused(error.message);
      if (error instanceof CopyError) throw failed(`copying the archive into app ${app.id}: ${error.message}`, app.id);
      throw error;
    }
  }

  /** Renames the old app so nothing takes it for a leftover of the record's name; says how it went. */
  private async renameOldApp(oldAppId: string): Promise<string> {
    const day = new Date(this.deps.clock.now()).toISOString().slice(0, 10);
    const title = `${this.record.name} (replaced ${day})`;
    const renamed = await this.attempt((signal) => this.deps.platform.renameApp(oldAppId, title, signal));
    if (renamed.ok) return `kept as "${title}"`;
    if (renamed.error.kind === 'not-found') return 'already gone';
    this.log.warn(
      { appId: oldAppId, error: renamed.error.message },
      'could not rename the old app; keeping it as it is',
    );
    return `kept, but not renamed (${renamed.error.message}): gc lists it as a leftover of ${this.record.name}`;
  }

  /** The one write browsers see: the record names the new app, and the pending fields go. */
  private async moveRecord(app: CreatedApp): Promise<void> {
    try {
      this.record = await this.write(
        {
          instantAppId: app.id,
          adminToken: app.adminToken,
          // The new app was named on the record before it existed, as a chosen-id claim names its app.
          createdVia: 'chosen-id',
          pendingAppId: null,
          pendingAdminToken: null,
          templateHash: null,
        },
        (latest) =>
          latest.pendingAppId !== app.id
            ? 'its pending app is no longer this one'
            : latest.status !== 'ready'
              ? `it is ${latest.status}`
              : null,
        { requireTask: true },
      );
    } catch (error) {
      if (error instanceof Outcome && error.outcome.kind === 'failed' && error.cause instanceof RecordMovedError) {
        // Gone, detached (its task went) or naming another restore's app: no ready record will take this
        // one, and a retire that deleted the pending id before our create landed would leave it an orphan.
        const { latest } = error.cause;
        if (latest === null || latest.pendingAppId !== app.id || latest.status !== 'ready') await this.discard(app.id);
      }
      throw error;
    }
  }

  private async deleteOldApp(oldAppId: string): Promise<string> {
    const deleted = await this.attempt((signal) => this.deps.platform.deleteApp(oldAppId, signal));
    if (deleted.ok) return 'deleted';
    this.log.warn({ appId: oldAppId, error: deleted.error.message }, 'could not delete the old app');
    return `not deleted (${deleted.error.message}): gc --delete removes it`;
  }

  private async discard(appId: string): Promise<void> {
    const deleted = await this.attempt((signal) => this.deps.platform.deleteApp(appId, signal));
    if (deleted.ok) this.log.warn({ appId }, 'no ready record will take the new app; deleted it');
    else
      this.log.error(
        { appId, error: deleted.error.message },
        'no ready record will take the new app, and it could not be deleted',
      );
  }

  private template(): AppTemplate {
    const { schema, rules } = this.request.archive;
    // The server stores no "no rules" on a create; `{}` allows exactly what none allow.
    return { hash: '', schema, perms: rules ?? {} };
  }

  /** A fenced write on the record; a record that moved meanwhile ends the restore (failed, pending kept). */
  private async write(
    changes: Parameters<typeof writeFenced>[3],
    stillValid: (latest: DatabaseRecord) => string | null,
    options: { requireTask?: boolean } = {},
  ): Promise<DatabaseRecord> {
    const { store, owner } = this.deps;
    try {
      return await writeFenced(store, owner, this.record, changes, stillValid, options);
    } catch (error) {
      if (error instanceof RecordMovedError) throw failed(error.message, this.pending?.id ?? null, error);
      throw error;
    }
  }

  /** One Platform call, paced and retried; its final failure ends the restore (refused or failed). */
  private async call<T>(operation: (signal: AbortSignal) => Promise<T>, what: string): Promise<T> {
    const result = await this.attempt(operation);
    if (result.ok) return result.value;
    throw this.ended(result.error, what);
  }

  /** One Platform call, paced and retried; its final failure as a value. */
  private async attempt<T>(
    operation: (signal: AbortSignal) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; error: PlatformError }> {
    const { clock, random, requestTimeoutMs, pause } = this.deps;
    try {
      return { ok: true, value: await pacedCall({ clock, random, requestTimeoutMs, pause }, operation, this.signal) };
    } catch (error) {
      if (error instanceof PlatformError) return { ok: false, error };
      throw error;
    }
  }

  /** How a Platform failure ends the restore: a server or token that cannot do it is refused; the rest failed. */
  private ended(error: PlatformError, what: string): Outcome {
    if (error.kind === 'creation-disabled') return refused(refusesChosenIds(this.deps.home), error);
    if (error.kind === 'token-rejected')
      return refused(`${this.deps.home} rejected the platform token (${error.message})`, error);
    return failed(`${what}: ${error.message}`, this.pending?.id ?? null, error);
  }
}

function isVerifyFailure(error: unknown): boolean {
  return error instanceof CopyError && error.kind === 'verify-failed';
}

function refusesChosenIds(server: string): string {
  return (
    `${server} does not create apps with chosen ids (POST /dash/apps is refused: Instant Cloud since sign-ups closed), ` +
    'and a restore names its new app on the record before creating it; restore on a self-hosted Instant server'
  );
}

function refused(reason: string, cause?: unknown): Outcome {
  const outcome = new Outcome({ kind: 'refused', reason });
  if (cause !== undefined) Object.defineProperty(outcome, 'cause', { value: cause });
  return outcome;
}

function failed(reason: string, pendingAppId: string | null, cause?: unknown): Outcome {
  const outcome = new Outcome({ kind: 'failed', reason, pendingAppId });
  if (cause !== undefined) Object.defineProperty(outcome, 'cause', { value: cause });
  return outcome;
}
