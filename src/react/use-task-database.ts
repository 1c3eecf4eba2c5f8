'use client';
/**
 * `useTaskDatabase(db, taskId)`: the state of a task's database, read live from the user's own
 * InstantDB client. It asks `db.useQuery` for the task and its `mainDatabase`, as any
 * `@instantdb/react` hook would, so it shares the client's connection, cache and sign-in, and
 * follows the rules of the main app (a user sees only their own tasks' databases).
 *
 * Like `db.useQuery`, a null `taskId` defers the query: nothing is sent, and the result stays
 * `{ isLoading: true, status: 'none' }` until there is an id.
 */
import { useMemo } from 'react';
import type { InstantReactAbstractDatabase } from '@instantdb/react';
import type { ProvisionerSchemaDef } from './schema-types.js';

/**
 * Where a task's database stands. `none`: the task has no database (yet; the daemon claims every
 * task it sees); `provisioning`: its app is being created; `copying`: a fork's data is being copied
 * into it; `ready`: usable; `failed`: given up (see `error`; the owner may ask for another try);
 * `refused`: not created, its owner has too many databases; `detached`: the task was deleted and
 * the app goes after a grace period; `retained`: the task was deleted and the app is kept.
 */
export type TaskDatabaseStatus =
  'none' | 'provisioning' | 'copying' | 'ready' | 'failed' | 'refused' | 'detached' | 'retained';

/** How far a copy has come (`copying`), from the record's `copiedEntities` and `totalEntities`. */
export interface CopyProgress {
  readonly copied: number;
  readonly total: number;
  /** copied ÷ total, between 0 and 1. */
  readonly fraction: number;
}

/** What `useTaskDatabase` returns. */
export interface TaskDatabase {
  readonly status: TaskDatabaseStatus;
  /** The database's three-word name (also its app's title); null before it has one. */
  readonly name: string | null;
  /** The app id of the task's database: what a per-task client passes to `init` as `appId`. */
  readonly appId: string | null;
  /**
   * The Instant server the app lives on (the record's `apiUri`): what a per-task client passes to
   * `init` as `apiURI`. Null on records written before it was recorded: those live on the
   * daemon's own server.
   */
  readonly apiUri: string | null;
  /**
   * Why the database is not usable: the record's error when `failed` or `refused`; or, when the
   * query itself failed (then `status` is `none`), the query's error message.
   */
  readonly error: string | null;
  /** While `copying` with known totals; null otherwise. */
  readonly progress: CopyProgress | null;
  /** True until the first result has arrived (and while `taskId` is null), as in `db.useQuery`. */
  readonly isLoading: boolean;
}

/**
 * The part of an `@instantdb/react` database the hook uses (any `init(...)` result fits): its
 * `useQuery`, and its `tx`, through which TypeScript tells the schema (and refuses one without
 * the kit's entities).
 */
export type TaskDatabaseReader<Schema extends ProvisionerSchemaDef> = Pick<
  InstantReactAbstractDatabase<Schema, boolean, any>,
  'useQuery' | 'tx'
>;

const KNOWN: ReadonlySet<string> = new Set<TaskDatabaseStatus>([
  'provisioning',
  'copying',
  'ready',
  'failed',
  'refused',
  'detached',
  'retained',
]);

/** The live state of `taskId`'s database, through `db`, the user's own client. */
export function useTaskDatabase<Schema extends ProvisionerSchemaDef>(
  db: TaskDatabaseReader<Schema>,
  taskId: string | null | undefined,
): TaskDatabase {
  const query = useMemo(() => (taskId ? taskDatabaseQuery(taskId) : null), [taskId]);
  const { isLoading, error, data } = db.useQuery(query as never) as {
    isLoading: boolean;
    error?: { message: string };
    data?: { tasks?: unknown[] };
  };
  const record = data ? recordOf(data.tasks?.[0]) : undefined;
  return useMemo(
    () => taskDatabaseOf({ isLoading, error: error?.message ?? null, record }),
    [isLoading, error?.message, record],
  );
}

/** The query the hook sends: the task by id, with its database. */
export function taskDatabaseQuery(taskId: string) {
  return { tasks: { $: { where: { id: taskId } }, mainDatabase: {} } } as const;
}

/** The fields of a `databases` record the hook reads, as they come over the wire. */
export interface DatabaseRecordFields {
  status?: unknown;
  name?: unknown;
  instantAppId?: unknown;
  apiUri?: unknown;
  error?: unknown;
  copiedEntities?: unknown;
  totalEntities?: unknown;
}

/** The task's record (a has-one link comes back as an object, or as an array without a schema). */
function recordOf(task: unknown): DatabaseRecordFields | null {
  const linked = (task as { mainDatabase?: unknown } | undefined)?.mainDatabase;
  const record = Array.isArray(linked) ? linked[0] : linked;
  return record && typeof record === 'object' ? (record as DatabaseRecordFields) : null;
}

/** Turns a query state into what the hook returns (pure: the tests call it directly too). */
export function taskDatabaseOf(state: {
  isLoading: boolean;
  error: string | null;
  record: DatabaseRecordFields | null | undefined;
}): TaskDatabase {
  const { record } = state;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  const status: TaskDatabaseStatus =
    record && typeof record.status === 'string' && KNOWN.has(record.status)
      ? (record.status as TaskDatabaseStatus)
      : 'none';
  const broken = status === 'failed' || status === 'refused';
  return {
    status,
    name: text(record?.name),
    appId: text(record?.instantAppId),
    apiUri: text(record?.apiUri),
    error: (broken ? text(record?.error) : null) ?? state.error,
    progress: status === 'copying' ? progressOf(record!.copiedEntities, record!.totalEntities) : null,
    isLoading: state.isLoading,
  };
}

function progressOf(copied: unknown, total: unknown): CopyProgress | null {
  if (typeof copied !== 'number' || typeof total !== 'number' || !(total > 0) || !(copied >= 0)) return null;
  return { copied, total, fraction: Math.min(1, copied / total) };
}
