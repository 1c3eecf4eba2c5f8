/**
 * A record as an operator may see it (`status`, the live page): copied field by
 * field, so nothing else a record may carry (an admin token) can leak out.
 */
import type { DatabaseRecord } from '../types.js';

export interface ShownRecord {
  taskId: string;
  databaseId: string;
  name: string;
  status: string;
  /** The app the record names (on the chosen-id path, from the claim on: it may not exist yet). */
  appId: string | null;
  /** chosen-id or server-id: how its app is made. */
  createdVia: string;
  /** The server its app lives on; null: the daemon's own (a record older than the field). */
  apiUri: string | null;
  /** A fork: the iteration it was forked from. */
  originIterationId: string | null;
  error: string | null;
  attempts: number;
  /** ISO-8601, like every time here. */
  createdAt: string;
  readyAt: string | null;
  detachedAt: string | null;
  /** The last backup (`backup`) and what it measured; null when never backed up. */
  lastBackupAt: string | null;
  entityCount: number | null;
  sizeBytes: number | null;
}

export function showRecord(record: DatabaseRecord): ShownRecord {
  return {
    taskId: record.taskId,
    databaseId: record.id,
    name: record.name,
    status: record.status,
    appId: record.instantAppId,
    createdVia: record.createdVia,
    apiUri: record.apiUri,
    originIterationId: record.originIterationId,
    error: record.error,
    attempts: record.attempts,
    createdAt: new Date(record.createdAt).toISOString(),
    readyAt: isoOrNull(record.readyAt),
    detachedAt: isoOrNull(record.detachedAt),
    lastBackupAt: isoOrNull(record.lastBackupAt ?? null),
    entityCount: record.entityCount ?? null,
    sizeBytes: record.sizeBytes ?? null,
  };
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
