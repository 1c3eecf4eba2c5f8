/**
 * The archive side of `restore` (core/operations/restore-database.ts): an archive checked whole
 * before anything is created (manifest, every file's size and SHA-256, every entity against the
 * content checksums), then copied into an app over its admin API and verified there.
 */
import type { Clock } from '../clock.js';
import type { RestoreArchive } from '../core/operations/restore-database.js';
import type { CreatedApp } from '../core/types.js';
import { AppClient } from './app-client.js';
import { AppSink } from './app-sink.js';
import { ArchiveSource } from './archive-source.js';
import { copy } from './copy.js';
import type { RatePause } from './rate-pause.js';
import { verifyArchive } from './verify-archive.js';

export interface ArchiveRestoreOptions {
  /** The server the new app is made on. */
  apiUri: string;
  /** The server's pause, shared with the Platform calls of the restore. */
  pause: RatePause;
  clock: Clock;
  timeoutMs?: number;
}

/** An archive checked whole, not yet tied to a server: what `restore` checks before it needs credentials. */
export class CheckedArchive {
  private constructor(
    readonly dir: string,
    readonly schema: Record<string, unknown> | null,
    readonly rules: Record<string, unknown> | null,
    readonly entityCount: number,
  ) {}

  /** Opens and checks the archive in `dir`; throws CopyError `archive-invalid` saying what is wrong. */
  static async open(dir: string, signal?: AbortSignal): Promise<CheckedArchive> {
    const checked = await verifyArchive(dir, signal);
    const config = await (await ArchiveSource.open(dir, { checkContent: false })).readConfig();
    const hasSchema = Object.keys(config.schema.entities).length > 0 || Object.keys(config.schema.links).length > 0;
    return new CheckedArchive(
      dir,
      hasSchema ? (config.schema as unknown as Record<string, unknown>) : null,
      config.rules,
      checked.entityCount,
    );
  }

  /** The archive restored into apps of the server in `options`. */
  into(options: ArchiveRestoreOptions): RestoreArchive {
    return new ArchiveRestore(this, options);
  }
}

class ArchiveRestore implements RestoreArchive {
  readonly dir: string;
  readonly schema: Record<string, unknown> | null;
  readonly rules: Record<string, unknown> | null;
  readonly entityCount: number;

  constructor(
    archive: CheckedArchive,
    private readonly options: ArchiveRestoreOptions,
  ) {
    ({ dir: this.dir, schema: this.schema, rules: this.rules, entityCount: this.entityCount } = archive);
  }

  async copyInto(app: CreatedApp, signal: AbortSignal, onEntities: (entities: number) => void): Promise<number> {
    const { apiUri, pause, clock, timeoutMs } = this.options;
    const client = new AppClient(
      { apiUri, appId: app.id, adminToken: app.adminToken },
      { pause, clock, ...(timeoutMs ? { timeoutMs } : {}) },
    );
    try {
      const result = await copy(await ArchiveSource.open(this.dir), new AppSink(client, { clock }), {
        signal,
        onProgress: (progress) => {
          if (progress.phase === 'copy') onEntities(progress.entities);
        },
      });
      return result.entityCount;
    } finally {
      client.close();
    }
  }
}
