/**
 * Reading `databases` entities into DatabaseRecords, and the queries that find
 * work. Parsing is lenient on purpose: a record edited by hand into a bad state
 * must still be readable, so the reconciler can repair it.
 */
import { z } from 'zod';
import { DATABASE_STATUSES, type CreatePath, type DatabaseRecord, type UnlinkedTask } from '../core/types.js';

const timestamp = z
  .union([z.number(), z.string()])
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)))
  .pipe(z.number().finite())
  .catch(0);
const optionalString = z
  .string()
  .nullish()
  .catch(null)
  .transform((value) => value ?? null);
const optionalNumber = z
  .number()
  .finite()
  .nullish()
  .catch(null)
  .transform((value) => value ?? null);

const databaseEntity = z.object({
  id: z.string(),
  taskId: z.string(),
  name: z.string(),
  status: z.unknown().transform((value) => (typeof value === 'string' ? value : String(value))),
  instantAppId: optionalString,
  attempts: optionalNumber.transform((value) => value ?? 0),
  error: optionalString,
  createdAt: timestamp.optional().transform((value) => value ?? 0),
  leaseOwner: optionalString,
  leaseExpiresAt: optionalNumber,
  generation: optionalNumber.transform((value) => value ?? 0),
  detachedAt: optionalNumber,
  templateHash: optionalString,
  readyAt: timestamp
    .nullish()
    .catch(null)
    .transform((value) => value ?? null),
  createdVia: z.unknown().optional().transform(createPathOf),
  apiUri: optionalString,
  ownerId: optionalString,
  retryHonouredAt: optionalNumber,
  originIteration: z.unknown().optional().transform(linkedIdOf),
  pendingAppId: z
    .string()
    .nullish()
    .catch(null)
    .transform((value) => value ?? undefined),
  firstAttemptAt: optionalNumber,
  // A value that is not a time means no backup (not one in 1970).
  lastBackupAt: z
    .union([z.number(), z.string()])
    .transform((value) => (typeof value === 'number' ? value : Date.parse(value)))
    .pipe(z.number().finite())
    .nullish()
    .catch(null)
    .transform((value) => value ?? null),
  entityCount: optionalNumber,
  sizeBytes: optionalNumber,
});

/**
 * The id a has-one link points at, however it comes back: an object or null when the query asked
 * for it (with inference), an array without inference, a bare id when it was not asked for.
 */
export function linkedIdOf(value: unknown): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first;
  if (first && typeof first === 'object' && typeof (first as { id?: unknown }).id === 'string')
    return (first as { id: string }).id;
  return null;
}

/** Records from before chosen ids (or edited by hand) made their apps with server ids. */
function createPathOf(value: unknown): CreatePath {
  return value === 'chosen-id' ? 'chosen-id' : 'server-id';
}

/** A `databases` entity as the main app returns it, or null if it lacks what every record has. */
export function parseRecord(entity: unknown): DatabaseRecord | null {
  // The feed parses every unfinished record on every snapshot; most are well-formed.
  const wellFormed = parseWellFormed(entity);
  if (wellFormed) return wellFormed;
  const parsed = databaseEntity.safeParse(entity);
  if (!parsed.success) return null;
  const { originIteration, ...record } = parsed.data;
  return { ...record, originIterationId: originIteration };
}

/** The record when every field has exactly its schema type (what the daemon writes); else null. */
function parseWellFormed(entity: unknown): DatabaseRecord | null {
  if (typeof entity !== 'object' || entity === null) return null;
  const e = entity as Record<string, unknown>;
  const { id, taskId, name, status, createdAt } = e;
  if (typeof id !== 'string' || typeof taskId !== 'string' || typeof name !== 'string') return null;
  if (typeof status !== 'string' || !isFiniteNumber(createdAt)) return null;
  const instantAppId = e.instantAppId ?? null;
  const error = e.error ?? null;
  const leaseOwner = e.leaseOwner ?? null;
  const attempts = e.attempts ?? 0;
  const leaseExpiresAt = e.leaseExpiresAt ?? null;
  const generation = e.generation ?? 0;
  const detachedAt = e.detachedAt ?? null;
  const templateHash = e.templateHash ?? null;
  const readyAt = e.readyAt ?? null;
  const firstAttemptAt = e.firstAttemptAt ?? null;
  const apiUri = e.apiUri ?? null;
  const ownerId = e.ownerId ?? null;
  const retryHonouredAt = e.retryHonouredAt ?? null;
  const pendingAppId = e.pendingAppId ?? null;
  const lastBackupAt = e.lastBackupAt ?? null;
  const entityCount = e.entityCount ?? null;
  const sizeBytes = e.sizeBytes ?? null;
  if (!isStringOrNull(instantAppId) || !isStringOrNull(error) || !isStringOrNull(leaseOwner)) return null;
  if (!isStringOrNull(templateHash) || !isFiniteNumber(attempts) || !isFiniteNumber(generation)) return null;
  if (leaseExpiresAt !== null && !isFiniteNumber(leaseExpiresAt)) return null;
  if (detachedAt !== null && !isFiniteNumber(detachedAt)) return null;
  if (readyAt !== null && !isFiniteNumber(readyAt)) return null;
  if (firstAttemptAt !== null && !isFiniteNumber(firstAttemptAt)) return null;
  if (!isStringOrNull(apiUri) || !isStringOrNull(ownerId) || !isStringOrNull(pendingAppId)) return null;
  if (retryHonouredAt !== null && !isFiniteNumber(retryHonouredAt)) return null;
  if (lastBackupAt !== null && !isFiniteNumber(lastBackupAt)) return null;
  if (entityCount !== null && !isFiniteNumber(entityCount)) return null;
  if (sizeBytes !== null && !isFiniteNumber(sizeBytes)) return null;
  return {
    id,
    taskId,
    name,
    status,
    instantAppId,
    attempts,
    error,
    createdAt,
    leaseOwner,
    leaseExpiresAt,
    generation,
    detachedAt,
    templateHash,
    readyAt,
    createdVia: createPathOf(e.createdVia),
    firstAttemptAt,
    apiUri,
    ownerId,
    retryHonouredAt,
    originIterationId: linkedIdOf(e.originIteration),
    // Only while a restore is under way: most records never have one.
    ...(pendingAppId === null ? {} : { pendingAppId }),
    lastBackupAt,
    entityCount,
    sizeBytes,
  };
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isStringOrNull(value: unknown): value is string | null {
  return value === null || typeof value === 'string';
}

/** Only ids of linked entities: what a claim needs of a task's owner and fork origin. */
const ID_ONLY = { $: { fields: ['id'] } };

/**
 * Tasks without a database, oldest first, with their owner (through `ownerLink`; none when null)
 * and the iteration they were forked from. Only ids: a user's tasks may carry large fields.
 */
export function unlinkedTasksQuery(limit: number, ownerLink: string | null, order: 'asc' | 'desc' = 'asc') {
  return {
    tasks: {
      $: {
        where: { 'mainDatabase.id': { $isNull: true } },
        limit,
        order: { serverCreatedAt: order },
        fields: ['id'],
      },
      ...(ownerLink ? { [ownerLink]: ID_ONLY } : {}),
      forkedFrom: ID_ONLY,
    },
  };
}

/** A task as the unlinked-tasks query returns it, or null without an id. */
export function parseUnlinkedTask(entity: unknown, ownerLink: string | null): UnlinkedTask | null {
  if (typeof entity !== 'object' || entity === null) return null;
  const e = entity as Record<string, unknown>;
  if (typeof e.id !== 'string') return null;
  return {
    id: e.id,
    ownerId: ownerLink ? linkedIdOf(e[ownerLink]) : null,
    forkedFrom: linkedIdOf(e.forkedFrom),
  };
}

/** Adds what every record query asks for besides the record's own fields: its fork origin. */
function withOrigin<T extends { databases: object }>(query: T): T {
  return { ...query, databases: { ...query.databases, originIteration: ID_ONLY } };
}

/**
 * Records that need work now, oldest first: those still provisioning and those
 * whose task is gone while ready or failed (they are detached, retained or
 * removed at once). With `exceptOwner`, provisioning records that owner holds
 * are left out: a daemon knows its own, and its own claims and records would
 * otherwise push a new snapshot at it for every write it makes.
 */
export function unfinishedRecordsQuery(limit: number, exceptOwner?: string) {
  const working = { status: { $in: ['provisioning', 'copying'] } };
  const provisioning = exceptOwner === undefined ? working : { ...working, leaseOwner: { $not: exceptOwner } };
  const taskGone = { status: { $in: ['ready', 'failed', 'refused'] }, 'task.id': { $isNull: true } };
  return withOrigin({
    databases: {
      $: { where: { or: [provisioning, taskGone] }, limit, order: { serverCreatedAt: 'asc' } },
    },
  });
}

/** Failed records whose task's owner asked for another try (`tasks.databaseRetryRequestedAt`), oldest first. */
export function retryRequestsQuery(limit: number) {
  return withOrigin({
    databases: {
      $: {
        where: { status: 'failed', 'task.databaseRetryRequestedAt': { $isNull: false } },
        limit,
        order: { serverCreatedAt: 'asc' },
      },
    },
  });
}

/** The statuses of databases that hold, or will hold, an app: what a per-owner cap counts. */
export const COUNTED_STATUSES = ['provisioning', 'copying', 'ready'] as const;

/** Detached records, the longest detached first: the next to retire. */
export function detachedRecordsQuery(limit: number) {
  return withOrigin({
    databases: {
      $: { where: { status: 'detached' }, limit, order: { detachedAt: 'asc' } },
    },
  });
}

/**
 * Records matching `where`, in creation order, without the admin token (it never
 * leaves the store for an operator's view).
 */
export function recordsQuery(
  where: object,
  limit: number,
  order: 'asc' | 'desc',
  offset = 0,
  extraFields: readonly string[] = [],
) {
  return withOrigin({
    databases: {
      $: {
        where,
        limit,
        ...(offset > 0 ? { offset } : {}),
        order: { serverCreatedAt: order },
        fields: [...RECORD_FIELDS, ...extraFields],
      },
    },
  });
}

/** Every field a DatabaseRecord reads; `adminToken` is not one of them. */
export const RECORD_FIELDS = [
  'taskId',
  'name',
  'status',
  'instantAppId',
  'attempts',
  'error',
  'createdAt',
  'readyAt',
  'leaseOwner',
  'leaseExpiresAt',
  'generation',
  'detachedAt',
  'templateHash',
  'createdVia',
  'firstAttemptAt',
  'apiUri',
  'ownerId',
  'retryHonouredAt',
  'pendingAppId',
  'lastBackupAt',
  'entityCount',
  'sizeBytes',
  'copiedEntities',
  'totalEntities',
];

/** Ready records whose app does not have template `hash` (never pushed, or an older one), oldest first. */
export function recordsOffTemplateQuery(hash: string, limit: number, offset = 0) {
  return withOrigin({
    databases: {
      $: {
        where: { status: 'ready', templateHash: { $not: hash } },
        limit,
        ...(offset > 0 ? { offset } : {}),
        order: { serverCreatedAt: 'asc' },
      },
    },
  });
}

/** Records edited into a state no watch covers: `ready` without an app, or an unknown status. */
export function brokenRecordsQuery(limit: number) {
  return withOrigin({
    databases: {
      $: {
        where: {
          or: [
            { and: [{ status: 'ready' }, { instantAppId: { $isNull: true } }] },
            { and: DATABASE_STATUSES.map((status) => ({ status: { $not: status } })) },
          ],
        },
        limit,
        order: { serverCreatedAt: 'asc' },
      },
    },
  });
}
