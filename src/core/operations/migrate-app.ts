/**
 * One task database moved by `migrate` from the source server to the target, keeping its app id
 * and admin token (so per-task clients only change their API URL):
 *
 *   1. read the source app's schema and its own rules (a source left frozen by a killed run
 *      remembers them in its frozen rules);
 *   2. create the app on the target with the same id, admin token and title (POST /dash/apps). An
 *      `already-exists` is an earlier run's app when the target token reads it and its title is
 *      the record's name; after any create that did not answer a clean 200, its rules and schema
 *      are checked and pushed (rules first);
 *   3. freeze the source: rules that deny every client write (frozen-rules.ts), views kept;
 *   4. copy schema, rules and every entity and link, source → target (upserts: a copy run again
 *      leaves one copy of each entity), and verify it (counts and content checksums read back);
 *   5. ONE fenced write: `apiUri` := the target. From here the target app is the live one;
 *   6. the source app: kept with its own rules back (thawed), or deleted.
 *
 * A failure before 5 thaws the source and leaves the record on the source (the target copy stays
 * for the next run to resume). A kill before 5 leaves the source frozen: the next run reads its
 * own rules back from the frozen ones and finishes the move, thawing it after. A kill between 5
 * and 6 leaves a moved record whose source is still frozen (or not yet deleted): the next run
 * finishes it (`finishMoved`).
 */
import { AbortedError, type Clock } from '../../clock.js';
import { CopyError, PlatformError, StoreError } from '../../errors.js';
import type { Logger } from '../logger.js';
import type { PlatformClient, TemplateClient } from '../ports.js';
import { errorMessage } from '../reconcile-context.js';
import { syncTemplate } from '../template-sync.js';
import type { CreatedApp, DatabaseRecord } from '../types.js';
import { freezeRules, frozenMark, thawedRules, type FrozenMark } from './frozen-rules.js';
import { pacedCall, type ServerPause } from './paced-call.js';
import { RecordMovedError, writeFenced, type MovesStore } from './record-moves.js';

type Rules = Record<string, unknown>;

/** A source app as a move carries it. */
export interface SourceApp {
  /** Its schema (definition format; null: none). */
  schema: Rules | null;
  /** Its own rules (null: none): when it is frozen, those the frozen rules remember. */
  rules: Rules | null;
  /** The mark of a migrate's frozen rules, when it has them now. */
  frozen: FrozenMark | null;
  /** What to copy, as the adapter read it; handed back to `copy` unchanged. */
  plan: unknown;
}

/** The apps' data on both servers, each reached with the app's own admin token (src/copy/app-migration.ts). Errors are CopyError. */
export interface MigrationData {
  /** The source app; 'gone' when its admin token no longer opens it (deleted). */
  readSource(app: CreatedApp, signal: AbortSignal): Promise<SourceApp | 'gone'>;
  /** The source app's rules as stored now (null: none); 'gone' as above. */
  readSourceRules(app: CreatedApp, signal: AbortSignal): Promise<Rules | null | 'gone'>;
  /** Replaces the source app's rules. */
  pushSourceRules(app: CreatedApp, rules: Rules, signal: AbortSignal): Promise<void>;
  /** Copies the source app into the target app of the same id and token (the source's own rules), verified. */
  copy(
    app: CreatedApp,
    source: SourceApp,
    signal: AbortSignal,
    onEntities: (entities: number) => void,
  ): Promise<number>;
  /** Entities per namespace and the estimated archive bytes, through the source's admin API (a dry run). */
  survey(app: CreatedApp, signal: AbortSignal): Promise<Survey>;
}

/** What a dry run says about one app. */
export interface Survey {
  namespaces: Record<string, number>;
  entityCount: number;
  /** Entities × the mean size of an archive line of the first page of each namespace. */
  estimatedBytes: number;
}

export interface MoveDeps {
  store: MovesStore;
  data: MigrationData;
  /** The source server's Platform API (the configured platform token): deletes. */
  source: Pick<PlatformClient, 'deleteApp'>;
  /** The target server's Platform API (`--target-platform-token`). */
  target: Pick<PlatformClient, 'createAppWithId' | 'getApp' | 'probeChosenIds'> & TemplateClient;
  sourcePause: ServerPause;
  targetPause: ServerPause;
  clock: Clock;
  random: () => number;
  logger: Logger;
  owner: string;
  requestTimeoutMs: number;
}

export interface MoveSettings {
  /** Normalized API URIs. */
  source: string;
  target: string;
  sourceApp: 'keep' | 'delete';
}

/** A move that cannot go on: `global` ends the whole run (the target refuses chosen ids, or its token). */
export class MoveFailed extends Error {
  constructor(
    message: string,
    readonly global = false,
  ) {
    super(message);
    this.name = 'MoveFailed';
  }
}

/** How a move ended for one app. */
export interface Moved {
  entityCount: number;
  /** What became of the source app, in words. */
  sourceApp: string;
}

export class AppMove {
  private readonly log: Logger;
  private frozen = false;

  constructor(
    private readonly deps: MoveDeps,
    private readonly settings: MoveSettings,
    private record: DatabaseRecord,
    private readonly app: CreatedApp,
    private readonly signal: AbortSignal,
  ) {
    this.log = deps.logger.child({ taskId: record.taskId, databaseId: record.id, appId: app.id });
  }

  /** Moves the app (steps 1–6). Throws MoveFailed, or AbortedError once the source is thawed again. */
  async move(onEntities: (entities: number) => void): Promise<Moved> {
    const source = await this.readSource();
    this.frozen = source.frozen !== null;
    let entityCount: number;
    try {
      await this.ensureTargetApp(source);
      if (!this.frozen) await this.freeze(source);
      entityCount = await this.copy(source, onEntities);
      await this.markMoved();
    } catch (error) {
      // Not moved: the source is the live app, and gets its own rules back (a stop too).
      if (this.frozen) await this.thawAfterFailure();
      if (error instanceof AbortedError || error instanceof MoveFailed) throw error;
      throw new MoveFailed(errorMessage(error));
    }
    this.log.info({ entityCount, target: this.settings.target }, 'moved to the target');
    // Moved: what fails from here is finished by the next run (the record says the target).
    return { entityCount, sourceApp: await this.finishSource() };
  }

  /** A record already on the target: its source app thawed (a kill came after the move) or deleted, as asked. */
  async finishMoved(): Promise<string> {
    return this.finishSource();
  }

  private async readSource(): Promise<SourceApp> {
    let source: SourceApp | 'gone';
    try {
      source = await this.deps.data.readSource(this.app, this.signal);
    } catch (error) {
      throw asMoveFailure(error, 'reading the source app');
    }
    if (source === 'gone') throw new MoveFailed('the source app no longer opens with its admin token (deleted?)');
    return source;
  }

  /** The target app with this id, ours and complete: made now, or by an earlier run. */
  private async ensureTargetApp(source: SourceApp): Promise<void> {
    const { target } = this.deps;
    const template = { hash: '', schema: source.schema, perms: source.rules ?? {} };
    const created = await this.attempt('target', (signal) =>
      target.createAppWithId({ ...this.app, title: this.record.name }, template, signal),
    );
    if (created.ok) return;
    if (created.error.kind !== 'already-exists') throw this.failure(created.error, 'creating the app on the target');
    const read = await this.attempt('target', (signal) => target.getApp(this.app.id, signal));
    if (!read.ok) {
      if (read.error.kind === 'not-found')
        throw new MoveFailed(
          `app id ${this.app.id} is taken on the target by a deleted app; an id is never used twice, so it cannot move there`,
        );
      if (read.error.kind === 'rejected')
        throw new MoveFailed(`app id ${this.app.id} is taken on the target by an app its token cannot read`);
      throw this.failure(read.error, 'reading the app on the target');
    }
    if (read.value.title !== this.record.name)
      throw new MoveFailed(`app id ${this.app.id} is taken on the target by another app ("${read.value.title}")`);
    // An earlier run's app: it may lack its rules and schema (the server writes them after the app row).
    try {
      await syncTemplate(
        target,
        this.deps.clock,
        (operation) => this.paced('target', operation),
        this.app.id,
        template,
      );
    } catch (error) {
      if (error instanceof PlatformError) throw this.failure(error, "checking the target app's rules and schema");
      throw error;
    }
  }

  private async freeze(source: SourceApp): Promise<void> {
    const rules = freezeRules(source.rules, {
      target: this.settings.target,
      frozenAt: new Date(this.deps.clock.now()).toISOString(),
    });
    // Marked frozen before the push: a push that failed without an answer may still have landed.
    this.frozen = true;
    try {
      await this.deps.data.pushSourceRules(this.app, rules, this.signal);
    } catch (error) {
      throw asMoveFailure(error, 'freezing the source app');
    }
  }

  private async copy(source: SourceApp, onEntities: (entities: number) => void): Promise<number> {
    try {
      return await this.deps.data.copy(this.app, source, this.signal, onEntities);
    } catch (error) {
      throw asMoveFailure(error, 'copying');
    }
  }

  /** The one write that makes the target app the live one. */
  private async markMoved(): Promise<void> {
    const { store, owner } = this.deps;
    const { source } = this.settings;
    try {
      this.record = await writeFenced(store, owner, this.record, { apiUri: this.settings.target }, (latest) =>
        latest.status !== 'ready'
          ? `it is ${latest.status}`
          : latest.instantAppId !== this.app.id
            ? 'it names another app'
            : latest.apiUri !== null && latest.apiUri !== source
              ? `it lives on ${latest.apiUri}`
              : null,
      );
    } catch (error) {
      if (error instanceof RecordMovedError || error instanceof StoreError) throw new MoveFailed(error.message);
      throw error;
    }
  }

  /** After the move: the source app kept with its own rules back, or deleted; says how it went. */
  private async finishSource(): Promise<string> {
    if (this.settings.sourceApp === 'delete') {
      const deleted = await this.attempt('source', (signal) => this.deps.source.deleteApp(this.app.id, signal));
      if (deleted.ok) return 'deleted';
      throw new MoveFailed(
        `moved, but deleting the source app failed (${deleted.error.message}); run migrate again to finish`,
      );
    }
    try {
      const thawed = await this.thaw(this.signal);
      return thawed === 'thawed' ? 'kept, its rules back' : 'kept';
    } catch (error) {
      if (error instanceof AbortedError) throw error;
      throw new MoveFailed(
        `moved, but the source app's rules could not be put back (${errorMessage(error)}); run migrate again to finish`,
      );
    }
  }

  /** After a failure or a stop before the move: a fresh signal, so even a stopped run puts the rules back. */
  private async thawAfterFailure(): Promise<void> {
    try {
      await this.thaw(new AbortController().signal);
    } catch (error) {
      this.log.error(
        { error: errorMessage(error) },
        "could not put the source app's rules back; it stays frozen until migrate runs again",
      );
    }
  }

  /** Puts the source's own rules back if its rules are still a migrate's frozen ones. */
  private async thaw(signal: AbortSignal): Promise<'thawed' | 'not frozen' | 'gone'> {
    const rules = await this.deps.data.readSourceRules(this.app, signal);
    if (rules === 'gone') return 'gone';
    const mark = frozenMark(rules);
    // Rules someone pushed meanwhile (not ours) are left as they are.
    if (!mark) return 'not frozen';
    await this.deps.data.pushSourceRules(this.app, thawedRules(mark), signal);
    this.frozen = false;
    this.log.info({}, "put the source app's own rules back");
    return 'thawed';
  }

  /** A paced Platform call to one server; its last failure as a value. */
  private async attempt<T>(
    server: 'source' | 'target',
    operation: (signal: AbortSignal) => Promise<T>,
  ): Promise<{ ok: true; value: T } | { ok: false; error: PlatformError }> {
    try {
      return { ok: true, value: await this.paced(server, operation) };
    } catch (error) {
      if (error instanceof PlatformError) return { ok: false, error };
      throw error;
    }
  }

  private paced<T>(server: 'source' | 'target', operation: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { clock, random, requestTimeoutMs, sourcePause, targetPause } = this.deps;
    const pause = server === 'source' ? sourcePause : targetPause;
    return pacedCall({ clock, random, requestTimeoutMs, pause }, operation, this.signal);
  }

  /** A target that refuses chosen ids or rejects its token ends the whole run. */
  private failure(error: PlatformError, what: string): MoveFailed {
    if (error.kind === 'creation-disabled') return new MoveFailed(refusesChosenIds(this.settings.target), true);
    if (error.kind === 'token-rejected') return new MoveFailed(targetTokenRejected(this.settings.target, error), true);
    return new MoveFailed(`${what}: ${error.message}`);
  }
}

/** One line: the target does not create apps with chosen ids. */
export function refusesChosenIds(target: string): string {
  return (
    `the target ${target} does not create apps with chosen ids (POST /dash/apps is refused: Instant Cloud since sign-ups closed, ` +
    "or an old server); migrate keeps each app's id and admin token, so the target must be a self-hosted Instant server"
  );
}

/** One line: the target rejected `--target-platform-token`. */
export function targetTokenRejected(target: string, error: PlatformError): string {
  return `the target ${target} rejected --target-platform-token (${error.message})`;
}

function asMoveFailure(error: unknown, what: string): unknown {
  if (error instanceof AbortedError) return error;
  if (error instanceof CopyError || error instanceof PlatformError) return new MoveFailed(`${what}: ${error.message}`);
  return error;
}
