/**
 * `instant-provisioner backup`: one verified archive per ready task database, then a fenced
 * write of what the backup measured (`lastBackupAt`, `entityCount`, `sizeBytes`) on its record.
 *
 * Resumable: a task whose archive is already complete for its current app (a valid manifest, files
 * of the recorded sizes) is not copied again, only its record is brought up to date if a crash
 * came between the archive and the record; an incomplete archive is written again from scratch.
 * At most `concurrency` apps are copied at once (the slots); the archives adapter paces every
 * request after a 429. A failure ends that task only; every failure is returned with its reason.
 * Databases that live on another server (`apiUri`: not yet migrated, or already moved) are left
 * to a backup run against that server: the same app id may exist on both, and only one is live.
 */
import type PQueue from 'p-queue';
import { livesOn } from '../../api-uri.js';
import type { Logger } from '../logger.js';
import type { RecordCatalog, Store } from '../ports.js';
import { errorMessage, isUniqueViolation } from '../reconcile-context.js';
import type { DatabaseRecord } from '../types.js';

/** What a complete archive holds. */
export interface ArchiveSummary {
  appId: string;
  entityCount: number;
  sizeBytes: number;
  /** The content checksum over every namespace. */
  checksum: string;
  namespaces: Record<string, { count: number; checksum: string }>;
  /** Epoch ms the archive was finished (its manifest written). */
  finishedAt: number;
}

/** One line of the backup's own manifest: a task's archive. */
export interface BackupEntry extends ArchiveSummary {
  taskId: string;
  databaseId: string;
}

/** Where archives go (src/copy/backup-archives.ts). Errors are CopyError. */
export interface BackupArchives {
  /** The task's archive when it is complete and of app `appId`; null when missing, partial or stale. */
  complete(taskId: string, appId: string): Promise<ArchiveSummary | null>;
  /** Copies the app into the task's archive, rewritten whole and verified. */
  write(
    taskId: string,
    app: { appId: string; adminToken: string },
    signal: AbortSignal,
    onEntities: (entities: number) => void,
  ): Promise<ArchiveSummary>;
  /** Writes the top-level manifest: these entries (merged with those of earlier runs) and the failures. */
  writeIndex(entries: BackupEntry[], failed: BackupFailure[]): Promise<void>;
}

export interface BackupFailure {
  taskId: string;
  reason: string;
}

export interface BackupDeps {
  store: Store & RecordCatalog;
  archives: BackupArchives;
  /** The admin token in a record's stored value (sealed or plain); throws when it cannot be opened. */
  openToken: (record: DatabaseRecord, stored: string) => string;
  /** At most `concurrency` backups at once. */
  slots: PQueue;
  logger: Logger;
  owner: string;
}

export interface BackupSettings {
  /** The tasks to back up, or every ready database. */
  tasks: readonly string[] | 'all';
  pageSize: number;
  /** The configured server (normalized): the one the archives are read from. */
  home: string;
}

export interface BackupSummary {
  backedUp: BackupEntry[];
  /** Complete archives of the current app found from an earlier run. */
  alreadyComplete: BackupEntry[];
  /** Ready databases of `--all` that live on another server: not backed up by this run. */
  elsewhere: number;
  failed: BackupFailure[];
  interrupted: boolean;
}

/** Progress: tasks finished (backed up, already complete or failed) of `total`, and entities copied so far. */
export type BackupProgress = (progress: { done: number; total: number; entities: number }) => void;

export async function backupDatabases(
  deps: BackupDeps,
  settings: BackupSettings,
  signal: AbortSignal,
  onProgress: BackupProgress = () => {},
): Promise<BackupSummary> {
  const summary: BackupSummary = { backedUp: [], alreadyComplete: [], elsewhere: 0, failed: [], interrupted: false };
  const wanted = settings.tasks === 'all' ? null : new Set(settings.tasks);
  const total = wanted ? wanted.size : ((await deps.store.countRecords()).byStatus['ready'] ?? 0);
  const seen = new Set<string>();
  let copied = 0;
  const progress = () => {
    const done = summary.backedUp.length + summary.alreadyComplete.length + summary.failed.length + summary.elsewhere;
    onProgress({ done, total: Math.max(total, done), entities: copied });
  };
  progress();
  const fail = (taskId: string, reason: string) => {
    deps.logger.error({ taskId, error: reason }, 'backup failed');
    summary.failed.push({ taskId, reason });
    progress();
  };

  const backUp = async (record: DatabaseRecord, stored: string) => {
    if (signal.aborted) return;
    const appId = record.instantAppId!;
    const log = deps.logger.child({ taskId: record.taskId, databaseId: record.id, appId });
    try {
      const existing = await deps.archives.complete(record.taskId, appId);
      if (existing) {
        await recordBackup(deps, record, existing);
        summary.alreadyComplete.push(entry(record, existing));
        return progress();
      }
      let adminToken: string;
      try {
        adminToken = deps.openToken(record, stored);
      } catch (error) {
        return fail(record.taskId, `cannot open the stored admin token (${errorMessage(error)})`);
      }
      let entities = 0;
      const archive = await deps.archives.write(record.taskId, { appId, adminToken }, signal, (count) => {
        copied += count - entities;
        entities = count;
        progress();
      });
      await recordBackup(deps, record, archive);
      summary.backedUp.push(entry(record, archive));
      log.info({ entityCount: archive.entityCount, sizeBytes: archive.sizeBytes }, 'backed up');
      progress();
    } catch (error) {
      if (signal.aborted) return;
      fail(record.taskId, errorMessage(error));
    }
  };

  // Records holding a token, in creation order; a backup's own write keeps a record in its place.
  for (let offset = 0; !signal.aborted; offset += settings.pageSize) {
    const page = await deps.store.listStoredTokens(settings.pageSize, offset);
    for (const { record, adminToken } of page) {
      if (record.status !== 'ready' || !record.instantAppId) continue;
      if (wanted && !wanted.has(record.taskId)) continue;
      if (seen.has(record.taskId)) continue;
      seen.add(record.taskId);
      if (!livesOn(record.apiUri, settings.home)) {
        if (wanted)
          fail(
            record.taskId,
            `its database lives on ${record.apiUri}, not on ${settings.home}: back it up with that server's INSTANT_API_URI`,
          );
        else {
          summary.elsewhere++;
          progress();
        }
        continue;
      }
      void deps.slots.add(() => backUp(record, adminToken));
      // Hold at most a few pages of work: memory stays flat whatever the number of records.
      await deps.slots.onSizeLessThan(deps.slots.concurrency * 2);
    }
    if (page.length < settings.pageSize) break;
  }
  await deps.slots.onIdle();
  for (const taskId of wanted ?? []) if (!seen.has(taskId)) fail(taskId, 'no ready database for this task');
  summary.interrupted = signal.aborted;
  await deps.archives.writeIndex([...summary.alreadyComplete, ...summary.backedUp], summary.failed);
  return summary;
}

function entry(record: DatabaseRecord, archive: ArchiveSummary): BackupEntry {
  return { taskId: record.taskId, databaseId: record.id, ...archive };
}

/**
 * The backup's figures on the record, fenced; nothing to do when it already has them. Read again
 * once if another writer moved the record first; a record now on another app is left alone (its
 * archive is of the old app: the next run backs the new one up).
 */
async function recordBackup(deps: BackupDeps, record: DatabaseRecord, archive: ArchiveSummary): Promise<void> {
  const changes = { lastBackupAt: archive.finishedAt, entityCount: archive.entityCount, sizeBytes: archive.sizeBytes };
  let current = record;
  for (let tries = 0; tries < 3; tries++) {
    if (
      current.lastBackupAt === changes.lastBackupAt &&
      current.entityCount === changes.entityCount &&
      current.sizeBytes === changes.sizeBytes
    )
      return;
    try {
      await deps.store.update(current, deps.owner, changes);
      return;
    } catch (error) {
      if (!isUniqueViolation(error, 'databaseFences', 'key')) throw error;
    }
    const { record: latest } = await deps.store.loadTask(record.taskId);
    if (!latest || latest.id !== record.id || latest.instantAppId !== archive.appId)
      throw new Error('the record changed while it was backed up (task deleted or database replaced); run again');
    current = latest;
  }
  throw new Error('the record keeps changing while it is backed up; run again');
}
