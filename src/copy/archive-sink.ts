/**
 * Writes a copy as an archive directory (archive-format.ts), streaming: each page is appended to
 * its namespace's JSONL file as it comes, with the file's SHA-256 and size kept on the way, so
 * memory holds one page whatever the app's size. An archive is rewritten whole: `begin` removes
 * any old manifest first (an archive interrupted from then on is known incomplete) and the old
 * files, and the manifest is written last, once the copy verified.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  CONFIG_FILE,
  configJson,
  ENTITIES_DIR,
  entityFileName,
  MANIFEST_FILE,
  type ArchiveManifest,
} from './archive-format.js';
import { ArchiveSource } from './archive-source.js';
import type { CopiedEntity, CopyConfig, CopyResult, CopySink, CopySource, NamespacePlan } from './types.js';

interface OpenFile {
  handle: FileHandle;
  hash: Hash;
  bytes: number;
}

interface WrittenFile {
  file: string;
  bytes: number;
  sha256: string;
}

export class ArchiveSink implements CopySink {
  readonly resumable = false;
  private config: CopyConfig | null = null;
  private configFile: WrittenFile | null = null;
  private readonly open = new Map<string, OpenFile>();
  private readonly written = new Map<string, WrittenFile>();
  private startedAt = '';
  private committed: ArchiveManifest | null = null;

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  async begin(config: CopyConfig): Promise<void> {
    this.config = config;
    this.startedAt = new Date(this.now()).toISOString();
    await mkdir(this.dir, { recursive: true });
    await rm(join(this.dir, MANIFEST_FILE), { force: true });
    await rm(join(this.dir, ENTITIES_DIR), { recursive: true, force: true });
    await mkdir(join(this.dir, ENTITIES_DIR), { recursive: true });
    const text = configJson(config);
    await writeFile(join(this.dir, CONFIG_FILE), text);
    this.configFile = { file: CONFIG_FILE, bytes: Buffer.byteLength(text), sha256: sha256(text) };
  }

  async writePage(plan: NamespacePlan, page: CopiedEntity[]): Promise<void> {
    const file = await this.fileFor(plan.name);
    let text = '';
    for (const entity of page) text += `{"entity":${JSON.stringify(instantEntity(plan, entity))}}\n`;
    file.hash.update(text);
    file.bytes += Buffer.byteLength(text);
    // Appends at the handle's position; awaited, so one page at a time is in memory.
    await file.handle.writeFile(text);
  }

  async finish(): Promise<CopySource> {
    if (!this.config) throw new Error('ArchiveSink.finish before begin');
    for (const plan of this.config.namespaces) await this.fileFor(plan.name); // empty namespaces get an empty file
    for (const [ns, file] of this.open) {
      await file.handle.sync();
      await file.handle.close();
      this.written.set(ns, { file: entityFileName(ns), bytes: file.bytes, sha256: file.hash.digest('hex') });
    }
    this.open.clear();
    return ArchiveSource.open(this.dir, { requireManifest: false });
  }

  async commit(result: CopyResult): Promise<void> {
    const manifest = this.manifestFor(result);
    const path = join(this.dir, MANIFEST_FILE);
    const temporary = `${path}.partial`;
    const handle = await open(temporary, 'w');
    try {
      await handle.writeFile(JSON.stringify(manifest, null, 2) + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
    this.committed = manifest;
  }

  /** The manifest written by `commit`; null before. */
  get manifest(): ArchiveManifest | null {
    return this.committed;
  }

  async close(): Promise<void> {
    for (const file of this.open.values()) await file.handle.close().catch(() => {});
    this.open.clear();
  }

  /** The manifest of this archive for a verified copy (sizes and file hashes as written). */
  private manifestFor(result: CopyResult): ArchiveManifest {
    const config = this.configFile!;
    const namespaces: ArchiveManifest['namespaces'] = {};
    let sizeBytes = config.bytes;
    for (const plan of this.config!.namespaces) {
      const file = this.written.get(plan.name)!;
      const summary = result.namespaces[plan.name]!;
      namespaces[plan.name] = { ...file, count: summary.count, checksum: summary.checksum };
      sizeBytes += file.bytes;
    }
    return {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      appId: this.config!.sourceAppId,
      startedAt: this.startedAt,
      finishedAt: new Date(this.now()).toISOString(),
      entityCount: result.entityCount,
      sizeBytes,
      checksum: result.checksum,
      config,
      namespaces,
    };
  }

  /** The size of this archive: config.json and every entity file, as written. */
  sizeBytes(): number {
    let size = this.configFile?.bytes ?? 0;
    for (const file of this.written.values()) size += file.bytes;
    return size;
  }

  private async fileFor(ns: string): Promise<OpenFile> {
    const existing = this.open.get(ns);
    if (existing) return existing;
    const path = join(this.dir, entityFileName(ns));
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'w');
    const file: OpenFile = { handle, hash: createHash('sha256'), bytes: 0 };
    this.open.set(ns, file);
    return file;
  }
}

/** An entity as Instant's backup writes it: attributes and forward links in one object, has-one links as one id. */
export function instantEntity(plan: NamespacePlan, entity: CopiedEntity): Record<string, unknown> {
  const out: Record<string, unknown> = { id: entity.id, ...entity.attrs };
  for (const link of plan.links) {
    const ids = entity.links[link.label];
    if (!ids || ids.length === 0) continue;
    out[link.label] = link.has === 'one' ? ids[0] : ids;
  }
  return out;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
