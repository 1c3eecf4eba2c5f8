/** The domain as the reconciler sees it: no SDK types, no wire formats. */

/**
 * provisioning: claimed, its app not made or not recorded yet; copying: a fork's app is made and
 * its source's data is being copied in; ready: linked to its app; failed: gave up (retry puts it
 * back); refused: its owner has as many databases as --max-databases-per-owner allows, no app is
 * made until they have fewer; detached: its task was deleted, the app is deleted after the grace
 * period; retained: its task was deleted, the app is kept.
 */
export const DATABASE_STATUSES = [
  'provisioning',
  'copying',
  'ready',
  'failed',
  'refused',
  'detached',
  'retained',
] as const;
export type DatabaseStatus = (typeof DATABASE_STATUSES)[number];

/** A `databases` record, without its admin token (the core never needs to read one). */
export interface DatabaseRecord {
  id: string;
  taskId: string;
  /** Three-word name; also the title of the record's InstantDB app. */
  name: string;
  /** As stored: anything other than a known status is a hand-edited record to repair. */
  status: string;
  instantAppId: string | null;
  attempts: number;
  error: string | null;
  /** Epoch ms. */
  createdAt: number;
  leaseOwner: string | null;
  /** Epoch ms. */
  leaseExpiresAt: number | null;
  /** Count of fenced writes; see `databaseFences` in instant.schema.ts. */
  generation: number;
  /** Epoch ms when the task was found deleted (detached records). */
  detachedAt: number | null;
  /** Which template the app was created with (or last pushed); see AppTemplate. */
  templateHash: string | null;
  /** Epoch ms when it first became ready. */
  readyAt: number | null;
  /** How its app is made: 'chosen-id' (the record names it from the claim on) or 'server-id'. */
  createdVia: CreatePath;
  /** Epoch ms when its first create was sent; transient failures retry until the budget from here is spent. */
  firstAttemptAt: number | null;
  /** The server its app lives on (normalized API URI); null on records older than the field: the daemon's own. */
  apiUri: string | null;
  /** Its task's owner when it was claimed (null: no owner, or a record older than the field). */
  ownerId: string | null;
  /** For a fork: the iteration whose task's database it starts as a copy of (`originIteration`). */
  originIterationId: string | null;
  /** When the daemon last honoured a retry its task's owner asked for (epoch ms). */
  retryHonouredAt: number | null;
  /**
   * A restore in progress (`restore`): the new app, named before it exists, on the same server as
   * `instantAppId`, which stays the live app until the restore moves the record to this one. Null
   * (or absent) when no restore is under way.
   */
  pendingAppId?: string | null;
  /**
   * Epoch ms of its last backup (`backup`), and what that backup measured: entities and archive
   * bytes. Null (or absent, in records made before backups) when it was never backed up.
   */
  lastBackupAt?: number | null;
  entityCount?: number | null;
  sizeBytes?: number | null;
}

/**
 * How an app comes to exist. chosen-id: we choose its id and admin token, the claim records them,
 * and the create can be sent again safely (POST /dash/apps; self-hosted servers). server-id: the
 * server picks them (POST /superadmin/apps), and an answer that is lost is found by title.
 */
export const CREATE_PATHS = ['chosen-id', 'server-id'] as const;
export type CreatePath = (typeof CREATE_PATHS)[number];

/**
 * A task as the window of tasks without a database shows it: enough to claim it without reading
 * it again (its owner, and the iteration it was forked from).
 */
export interface UnlinkedTask {
  id: string;
  /** The `$users` id of its owner (the owner link), or null when it has none. */
  ownerId: string | null;
  /** The iteration it was forked from (`tasks.forkedFrom`): its database starts as a copy. */
  forkedFrom: string | null;
}

/** What one read of the main app says about a task. */
export interface TaskState {
  /** null when the task does not exist (never did, or was deleted). */
  task:
    | (UnlinkedTask & {
        mainDatabaseId: string | null;
        /** When its owner last asked for another try at a failed database (epoch ms). */
        retryRequestedAt: number | null;
      })
    | null;
  /** The record whose `taskId` is this task, if any. */
  record: DatabaseRecord | null;
}

/**
 * An InstantDB app and its admin token: made by the server (the token exists only in the
 * create response), or chosen by us before the create (see ChosenIdCreator).
 */
export interface CreatedApp {
  id: string;
  adminToken: string;
}

/** An app whose id and admin token we chose, to be created with this title. */
export interface ChosenApp extends CreatedApp {
  title: string;
}

/**
 * What a task database is created with: a schema (as `instant-cli push` would push it, or
 * none) and permission rules, which are never empty (no template means locked rules).
 */
export interface AppTemplate {
  /** Identifies the template's content; stored on each record. */
  hash: string;
  /** The `i.schema(...)` object as JSON, or null for no schema. */
  schema: Record<string, unknown> | null;
  perms: Record<string, unknown>;
}

/** An app as the Platform API lists it (no admin token). */
export interface ListedApp {
  id: string;
  title: string;
  /** Epoch ms (whole seconds on the real server). */
  createdAt: number;
}

/**
 * Which apps a listing should keep (GET /superadmin/apps has no filter of its
 * own): those titled with one of `titles`, and with `createdSince`, those
 * created at or after it (epoch ms; 0 keeps every app).
 */
export interface ListingFilter {
  titles?: ReadonlySet<string>;
  createdSince?: number;
}

/** Fields a fenced write may change on a record. */
export interface RecordChanges {
  status?: DatabaseStatus;
  /** null: the record no longer names an app (its chosen id is given up). */
  instantAppId?: string | null;
  adminToken?: string | null;
  createdVia?: CreatePath;
  firstAttemptAt?: number | null;
  apiUri?: string | null;
  retryHonouredAt?: number;
  /** A fork's copy: entities copied so far, and of how many (null: not known up front). */
  copiedEntities?: number | null;
  totalEntities?: number | null;
  /** A task re-created by someone else: the record lets go of the task id (see retire-phase.ts). */
  taskId?: string;
  error?: string | null;
  attempts?: number;
  readyAt?: number;
  leaseOwner?: string | null;
  leaseExpiresAt?: number | null;
  detachedAt?: number | null;
  /** null: the app's template is unknown (a restore gave it the archive's rules and schema). */
  templateHash?: string | null;
  /** A restore's new app and its admin token (sealed as `adminToken` is); null clears them. */
  pendingAppId?: string | null;
  pendingAdminToken?: string | null;
  /** Written by `backup` once an archive of the app verified. */
  lastBackupAt?: number;
  entityCount?: number;
  sizeBytes?: number;
}

/**
 * A failed record sent back to work: no attempts, no error, a fresh --give-up-after budget and no
 * lease, so the next pass takes it like any unleased record; `home`: its next create goes there.
 */
export function backToWork(home?: string): RecordChanges {
  return {
    status: 'provisioning',
    attempts: 0,
    error: null,
    firstAttemptAt: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    ...(home === undefined ? {} : { apiUri: home }),
  };
}

/** What the ready databases' last backups add up to (`status --json`, the live page). */
export interface BackupTotals {
  /** Ready databases with a backup, and without one. */
  backedUp: number;
  notBackedUp: number;
  /** Entities and archive bytes of the last backup of every ready database that has one. */
  entityCount: number;
  sizeBytes: number;
  /** Epoch ms of the oldest last backup among ready databases; null when none has one. */
  oldestBackupAt: number | null;
}

/** Adds one record to `totals` (only ready records count). */
export function addToBackupTotals(
  totals: BackupTotals,
  record: { status: string; lastBackupAt?: number | null; entityCount?: number | null; sizeBytes?: number | null },
): void {
  if (record.status !== 'ready') return;
  const at = record.lastBackupAt ?? null;
  if (at === null) {
    totals.notBackedUp++;
    return;
  }
  totals.backedUp++;
  totals.entityCount += record.entityCount ?? 0;
  totals.sizeBytes += record.sizeBytes ?? 0;
  totals.oldestBackupAt = totals.oldestBackupAt === null ? at : Math.min(totals.oldestBackupAt, at);
}

/** Totals of no record. */
export function emptyBackupTotals(): BackupTotals {
  return { backedUp: 0, notBackedUp: 0, entityCount: 0, sizeBytes: 0, oldestBackupAt: null };
}

/** The pointer a fenced write needs: which record, at which generation we last saw it. */
export interface RecordVersion {
  id: string;
  taskId: string;
  generation: number;
}

/** What a reconcile pass concluded about a task, for --once summaries and logs. */
export type TaskResult = 'ready' | 'failed' | 'skipped';
