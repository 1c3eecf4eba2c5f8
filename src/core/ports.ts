/**
 * The reconciler's ports. Adapters: src/store (Admin SDK), src/platform (fetch),
 * src/feed (subscribeQuery). Fakes: test/fakes.
 */
import type {
  AppTemplate,
  ChosenApp,
  BackupTotals,
  CreatedApp,
  CreatePath,
  DatabaseRecord,
  ListedApp,
  ListingFilter,
  RecordChanges,
  RecordVersion,
  TaskState,
  UnlinkedTask,
} from './types.js';

/** The main app, narrowed to what the reconciler needs. Errors are StoreError. */
export interface Store {
  /** Reads a task (with its link) and the record claimed for it, in one query. */
  loadTask(taskId: string): Promise<TaskState>;

  /**
   * Creates the task's record (status provisioning, generation 1, leased to `owner`, naming
   * `input.app` when the app's id is chosen) and links the task to it, in one transaction.
   * Fails with a unique violation on `databases.taskId` when another record already claims
   * the task, on `databases.name` or `databases.instantAppId` when the name or id is taken,
   * and with missing-entity when the task does not exist.
   */
  claim(input: ClaimInput): Promise<void>;

  /**
   * The admin token stored on a record, opened when sealed; null when it has none. A sealed token
   * no configured key opens fails with a `rejected` StoreError.
   */
  readAdminToken(recordId: string): Promise<string | null>;

  /**
   * A fenced write: applies `changes` and moves the record to generation + 1, but
   * only if no other writer moved it first (unique violation on `databaseFences.key`
   * otherwise). With `requireTask`, fails with missing-entity when the task is gone;
   * with `linkTask`, also links the task to the record in the same transaction (a
   * task re-created with its old id gets its database back). Always fails with
   * missing-entity when the record is gone.
   */
  update(version: RecordVersion, owner: string, changes: RecordChanges, options?: UpdateOptions): Promise<void>;

  /** A fenced delete of the record (same fencing as `update`). */
  delete(version: RecordVersion, owner: string): Promise<void>;

  /** Links a task to its existing record (repairs a lost link). */
  link(taskId: string, recordId: string): Promise<void>;

  /** Oldest-first tasks without a database. */
  listUnlinkedTasks(limit: number): Promise<UnlinkedTask[]>;

  /** Id of the newest task without a database, or null. */
  newestUnlinkedTask(): Promise<string | null>;

  /**
   * Oldest-first records that need work now: provisioning ones (with
   * `exceptOwner`, not those it holds) and ready or failed ones whose task is gone.
   */
  listUnfinishedRecords(limit: number, exceptOwner?: string): Promise<DatabaseRecord[]>;

  /** Detached records, the longest detached first. */
  listDetachedRecords(limit: number): Promise<DatabaseRecord[]>;

  /**
   * Records no watch finds but that need work: edited by hand into a bad state
   * (`ready` without an app id, or a status that is not one of ours).
   */
  listBrokenRecords(limit: number): Promise<DatabaseRecord[]>;

  /** Records whose name is one of `names`. */
  findRecordsByName(names: string[]): Promise<DatabaseRecord[]>;

  /** How many databases `ownerId` has that hold, or will hold, an app (provisioning, copying, ready); at most `limit`. */
  countDatabasesOf(ownerId: string, limit: number): Promise<number>;

  /** Refused records (of `ownerId`, when given), oldest first. */
  listRefusedRecords(limit: number, ownerId?: string): Promise<DatabaseRecord[]>;

  /**
   * The database of the task an iteration belongs to (a fork's source): null when the iteration
   * or its task is gone; `record` null while that task has none yet.
   */
  loadIterationDatabase(iterationId: string): Promise<{ record: DatabaseRecord | null } | null>;
}

/** The main app as the operator commands (template push, status, retry, gc) read it. */
export interface RecordCatalog {
  /** Ready records whose app does not have template `hash`, oldest first. */
  listRecordsOffTemplate(hash: string, limit: number, offset?: number): Promise<DatabaseRecord[]>;
  /**
   * How many records there are per status, how many of the ready ones have template `hash`, and
   * what the ready ones' last backups add up to.
   */
  countRecords(hash?: string): Promise<{ byStatus: Record<string, number>; onTemplate: number; backups: BackupTotals }>;
  /** Records in any of `statuses`, oldest first. */
  listRecordsWithStatus(statuses: readonly string[], limit: number, offset?: number): Promise<DatabaseRecord[]>;
  /** The newest records, newest first. */
  listNewestRecords(limit: number): Promise<DatabaseRecord[]>;
  /** Records that hold an admin token, with the token as stored (plain or sealed), oldest first. */
  listStoredTokens(limit: number, offset?: number): Promise<Array<{ record: DatabaseRecord; adminToken: string }>>;
  /** The task's record with the admin tokens stored on it (plain or sealed); null when it has none. */
  loadStoredTokens(taskId: string): Promise<StoredTokens | null>;
  /** Records that name no server (made before `apiUri` existed), oldest first. */
  listRecordsWithoutApiUri(limit: number, offset?: number): Promise<DatabaseRecord[]>;
}

/** A record and the admin tokens stored on it, as stored (plain or sealed). */
export interface StoredTokens {
  record: DatabaseRecord;
  adminToken: string | null;
  /** A restore's new app's admin token (see `pendingAppId`). */
  pendingAdminToken: string | null;
}

export interface UpdateOptions {
  requireTask?: boolean;
  linkTask?: boolean;
  /** Also clears the task's `databaseRetryRequestedAt`: the owner's request is taken. */
  clearRetryRequest?: boolean;
}

export interface ClaimInput {
  taskId: string;
  recordId: string;
  name: string;
  owner: string;
  now: number;
  leaseExpiresAt: number;
  createdVia: CreatePath;
  /** The app's chosen id and admin token (chosen-id), or none (server-id). */
  app: CreatedApp | null;
  /** The server the app is made on (normalized API URI): where the record's app lives. */
  apiUri: string;
  /** The task's owner, written on the record (null: none). */
  ownerId: string | null;
  /** A fork: the iteration it was forked from, linked as the record's `originIteration`. */
  originIterationId: string | null;
  /** `refused`: the owner has too many databases (the reason goes in `error`); else `provisioning`. */
  refusedBecause: string | null;
}

/** InstantDB's Platform API. Errors are PlatformError. */
export interface PlatformClient {
  /**
   * POST /superadmin/apps with the template's schema and rules: the server picks the id and
   * shows the admin token only in its answer. Not idempotent: never call it blindly twice
   * for one record.
   */
  createApp(title: string, template: AppTemplate, signal: AbortSignal): Promise<CreatedApp>;
  /**
   * POST /dash/apps: creates the app with the id and admin token we chose, and the template's
   * schema and rules. Idempotent by id: when the id is taken (the app exists, or once did)
   * it fails with `already-exists` and changes nothing.
   */
  createAppWithId(app: ChosenApp, template: AppTemplate, signal: AbortSignal): Promise<void>;
  /** GET /superadmin/apps/:id; `not-found` when there is no such app (or it was deleted). */
  getApp(appId: string, signal: AbortSignal): Promise<ListedApp>;
  /**
   * Whether this server creates apps with chosen ids, asked without creating anything:
   * POST /dash/apps with an empty body is checked for sign-ups before its parameters.
   */
  probeChosenIds(signal: AbortSignal): Promise<'allowed' | 'refused'>;
  /** GET /superadmin/apps: the apps of the token's user that `filter` asks for. */
  listApps(filter: ListingFilter, signal: AbortSignal): Promise<ListedApp[]>;
  /** DELETE /superadmin/apps/:id; an app that is already gone counts as deleted. */
  deleteApp(appId: string, signal: AbortSignal): Promise<void>;
}

/** An app on a server, with the key to it: what a copy reads from or writes into. */
export interface AppAtServer extends CreatedApp {
  /** The server's API URI. */
  apiUri: string;
}

/**
 * Copies one app's data into another (a fork's database starts as a copy of its source's).
 * Adapter: src/copy (the copy engine, over each app's own admin token). Errors are CopyError.
 */
export interface AppCopier {
  /** The app's schema and rules, as a new app is made with them. */
  templateOf(app: AppAtServer, hash: string, signal: AbortSignal): Promise<AppTemplate>;
  /**
   * Copies every entity and link of `from` into `to` (ids kept, so running it again after a
   * kill ends with one copy of each) and reads the copy back to verify it; `onProgress` hears
   * how many entities are copied so far.
   */
  copy(
    from: AppAtServer,
    to: AppAtServer,
    onProgress: (copied: number) => void,
    signal: AbortSignal,
  ): Promise<{ entityCount: number }>;
}

/** Live snapshots of what needs work. Events are hints; the reconciler re-reads before acting. */
export interface Feed {
  /**
   * Starts watching. Records leased by `owner` (this process) are left out of the
   * records window: it knows them.
   */
  watch(handlers: FeedHandlers, owner: string): FeedWatch;
}

export interface FeedWatch {
  stop(): void;
  /** Watches this many of the oldest unlinked tasks from now on (room past tasks that keep failing). */
  resizeTasks(limit: number): void;
}

export interface FeedHandlers {
  /** A full snapshot of the oldest tasks without a database (a bounded window). */
  onUnlinkedTasks(tasks: UnlinkedTask[]): void;
  /**
   * A full snapshot of the oldest records that need work now (a bounded window):
   * provisioning ones others hold, and ready or failed ones whose task is gone.
   */
  onUnfinishedRecords(records: DatabaseRecord[]): void;
  /** A full snapshot of the longest-detached records (a bounded window). */
  onDetachedRecords(records: DatabaseRecord[]): void;
  /** A full snapshot of failed records whose task's owner asked for another try (a bounded window). */
  onRetryRequests(records: DatabaseRecord[]): void;
  /** A subscription failed; `global` when retrying cannot help (e.g. a rejected admin token). */
  onError(error: Error): void;
}

/** Platform API operations: the daemon's (create, list, delete, …) and `template push`'s. */
export type PlatformOperation =
  | 'create'
  | 'create-with-id'
  | 'get'
  | 'probe'
  | 'list'
  | 'delete'
  | 'schema-plan'
  | 'schema-push'
  | 'indexing-jobs'
  | 'perms-read'
  | 'perms-push'
  | 'rename';

/** Whether creates flow, are paced by a 429, or are paused by a global condition. Times are epoch ms. */
export type GateState =
  | { kind: 'open' }
  | { kind: 'paced'; until: number }
  | { kind: 'blocked'; reason: string; message: string; since: number; nextProbeAt: number };

/**
 * What the daemon reports as it works; src/ops turns it into metrics and the
 * live page. Called on hot paths, so implementations must be cheap.
 */
export interface Telemetry {
  /** One Platform API request finished; `outcome` is 'ok' or a PlatformErrorKind. */
  platformRequest(operation: PlatformOperation, outcome: string, durationMs: number): void;
  /** Creates in flight right now. */
  createsInFlight(count: number): void;
  /** A task's database became ready; `timeToLinkMs` runs from the claim to the ready write. */
  databaseReady(event: { taskId: string; databaseId: string; timeToLinkMs: number }): void;
  orphanDeleted(appId: string): void;
  gateChanged(state: GateState): void;
  /** A live subscription opened or closed. */
  subscriptionChanged(name: string, open: boolean): void;
  /** The daemon subscribed again after the SDK closed a subscription for good. */
  resubscribed(name: string): void;
  /**
   * Record counts by status, complete (src/ops counts the catalog now and then; the core never
   * does), and the ready databases' backup totals counted with them.
   */
  databaseCounts(counts: Record<string, number>, backups?: BackupTotals): void;
  /** Writes to the main app (claims, record writes) finished, and the transactions they took (group commit). */
  mainAppWrites(writes: number, transactions: number): void;
  /** A record's status changed through this daemon (null: no record); counts move at once, the census corrects drift. */
  statusChanged(from: string | null, to: string | null): void;
  /** Which create path this daemon uses (decided at start). */
  createPath(path: CreatePath): void;
  /** How many tasks the main app keeps refusing, backing off (the task window grows past them). */
  tasksStuck(count: number): void;
}

/** Telemetry that goes nowhere. */
export const noTelemetry: Telemetry = {
  platformRequest() {},
  createsInFlight() {},
  databaseReady() {},
  orphanDeleted() {},
  gateChanged() {},
  subscriptionChanged() {},
  resubscribed() {},
  databaseCounts() {},
  mainAppWrites() {},
  statusChanged() {},
  createPath() {},
  tasksStuck() {},
};

/** One change a schema push makes (or would make) to an app, e.g. `add-attr notes.text`. */
export interface SchemaStep {
  /** The server's step type: add-attr, update-attr, index, unique, required, check-data-type, … */
  action: string;
  /** `namespace.label` the step is about. */
  target: string;
}

/** A background job a schema push started (an index, a type check, …). */
export interface IndexingJob {
  id: string;
  /** waiting, processing, completed or errored. */
  status: string;
  target: string;
  error: string | null;
}

/** The Platform API as `template push` needs it. Errors are PlatformError. */
export interface TemplateClient {
  /** POST /superadmin/apps/:id/schema/push/plan: what a push would change, without changing it. */
  planSchema(appId: string, schema: Record<string, unknown>, signal: AbortSignal): Promise<SchemaStep[]>;
  /** POST …/schema/push/apply: adds and updates attributes (never deletes); returns the jobs it started. */
  pushSchema(
    appId: string,
    schema: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<{ steps: SchemaStep[]; groupId: string | null; jobs: IndexingJob[] }>;
  /** GET /dash/apps/:id/indexing-jobs/group/:groupId: how the push's jobs are doing. */
  indexingJobs(appId: string, groupId: string, signal: AbortSignal): Promise<IndexingJob[]>;
  /** GET /superadmin/apps/:id/perms. */
  getPerms(appId: string, signal: AbortSignal): Promise<Record<string, unknown> | null>;
  /** POST /superadmin/apps/:id/perms: replaces the app's rules. */
  pushPerms(appId: string, perms: Record<string, unknown>, signal: AbortSignal): Promise<void>;
}
