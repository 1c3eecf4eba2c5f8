/**
 * `backup`'s archives on disk: `<out>/<taskId>/` per task (an archive, see archive-format.ts) and
 * `<out>/manifest.json`, the backup's own manifest: per task its app, counts and checksums. Every
 * app is read with its own admin token over one keep-alive transport; a 429 from the server holds
 * every copy of the run back (one shared pause).
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import type {
  ArchiveSummary,
  BackupArchives,
  BackupEntry,
  BackupFailure,
} from '../core/operations/backup-databases.js';
import { CopyError } from '../errors.js';
import { HttpTransport } from '../platform/http-transport.js';
import { AppClient } from './app-client.js';
import type { ArchiveManifest } from './archive-format.js';
import { AppSource } from './app-source.js';
import { ArchiveSink } from './archive-sink.js';
import { ArchiveSource } from './archive-source.js';
import { copy } from './copy.js';
import { RatePause } from './rate-pause.js';

export const BACKUP_INDEX_FORMAT = 'instant-provisioner-backup';
export const BACKUP_INDEX_FILE = 'manifest.json';

export interface FileBackupArchivesOptions {
  /** The directory every archive goes under. */
  outDir: string;
  /** The Instant server the apps live on. */
  apiUri: string;
  clock?: Clock;
  /** Deadline of each request to an app. */
  timeoutMs?: number;
}

/** The backup's own manifest. */
export interface BackupIndex {
  format: typeof BACKUP_INDEX_FORMAT;
  version: 1;
  updatedAt: string;
  /** By task id: the task's archive (its folder is `path`, under the backup directory). */
  archives: Record<string, Omit<BackupEntry, 'finishedAt'> & { path: string; finishedAt: string }>;
  /** The tasks the last run could not back up, and why. */
  failed: BackupFailure[];
}

export class FileBackupArchives implements BackupArchives {
  private readonly transport: HttpTransport;
  private readonly pause: RatePause;
  private readonly clock: Clock;

  constructor(private readonly options: FileBackupArchivesOptions) {
    this.transport = new HttpTransport(options.apiUri);
    this.clock = options.clock ?? systemClock;
    this.pause = new RatePause(this.clock);
  }

  async complete(taskId: string, appId: string): Promise<ArchiveSummary | null> {
    let archive: ArchiveSource;
    try {
      // Sizes only: a cut file is caught; re-hashing every archive of a resumed run is not worth it.
      archive = await ArchiveSource.open(this.dirOf(taskId), { checkContent: false });
    } catch (error) {
      if (error instanceof CopyError && error.kind === 'archive-invalid') return null;
      throw error;
    }
    const manifest = archive.manifest!;
    return manifest.appId === appId ? summaryOf(manifest, appId) : null;
  }

  async write(
    taskId: string,
    app: { appId: string; adminToken: string },
    signal: AbortSignal,
    onEntities: (entities: number) => void,
  ): Promise<ArchiveSummary> {
    const client = new AppClient(
      { apiUri: this.options.apiUri, ...app },
      {
        transport: this.transport,
        pause: this.pause,
        clock: this.clock,
        ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
      },
    );
    const sink = new ArchiveSink(this.dirOf(taskId), () => this.clock.now());
    try {
      await copy(new AppSource(client), sink, {
        signal,
        onProgress: (progress) => {
          if (progress.phase === 'copy') onEntities(progress.entities);
        },
      });
    } finally {
      await sink.close();
    }
    return summaryOf(sink.manifest!, app.appId);
  }

  async writeIndex(entries: BackupEntry[], failed: BackupFailure[]): Promise<void> {
    const path = join(this.options.outDir, BACKUP_INDEX_FILE);
    const index: BackupIndex = {
      format: BACKUP_INDEX_FORMAT,
      version: 1,
      updatedAt: new Date(this.clock.now()).toISOString(),
      archives: { ...(await this.readIndex())?.archives },
      failed,
    };
    for (const { finishedAt, ...entry } of entries) {
      index.archives[entry.taskId] = {
        ...entry,
        path: folderName(entry.taskId),
        finishedAt: new Date(finishedAt).toISOString(),
      };
    }
    // A failed task's old archive is still there and still complete: its entry stays.
    await mkdir(this.options.outDir, { recursive: true });
    const temporary = `${path}.partial`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(index, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  }

  close(): void {
    this.transport.close();
  }

  private dirOf(taskId: string): string {
    return join(this.options.outDir, folderName(taskId));
  }

  private async readIndex(): Promise<BackupIndex | null> {
    try {
      const parsed = JSON.parse(await readFile(join(this.options.outDir, BACKUP_INDEX_FILE), 'utf8')) as BackupIndex;
      return parsed.format === BACKUP_INDEX_FORMAT ? parsed : null;
    } catch {
      return null; // none yet, or unreadable: this run's entries make a new one
    }
  }
}

/** A task's folder: its id when that is a plain name (task ids are UUIDs), else percent-encoded. */
export function folderName(taskId: string): string {
  return /^[A-Za-z0-9_-]+$/.test(taskId) ? taskId : encodeURIComponent(taskId).replace(/\./g, '%2E');
}

function summaryOf(manifest: ArchiveManifest, appId: string): ArchiveSummary {
  return {
    appId,
    entityCount: manifest.entityCount,
    sizeBytes: manifest.sizeBytes,
    checksum: manifest.checksum,
    namespaces: Object.fromEntries(
      Object.entries(manifest.namespaces).map(([ns, entry]) => [ns, { count: entry.count, checksum: entry.checksum }]),
    ),
    finishedAt: Date.parse(manifest.finishedAt),
  };
}
