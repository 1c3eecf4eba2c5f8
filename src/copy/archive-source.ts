/**
 * Reads an archive directory (archive-format.ts). Opening it checks it whole before anything is
 * copied out of it: the manifest (its absence means an incomplete archive), then config.json and
 * every entity file against the sizes and SHA-256 the manifest records, so a truncated or altered
 * file is refused up front. Entities are then read line by line, one bounded page at a time; the
 * copy engine checks their content checksum against the manifest's as it reads.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CopyError } from '../errors.js';
import {
  CONFIG_FILE,
  configFrom,
  configSchema,
  entityFileName,
  MANIFEST_FILE,
  manifestSchema,
  type ArchiveManifest,
} from './archive-format.js';
import type { CopiedEntity, CopyConfig, CopySource, ExpectedContent, NamespacePlan } from './types.js';

export interface OpenArchiveOptions {
  /** False to read an archive still being written (no manifest yet): nothing is checked against one. */
  requireManifest?: boolean;
  /** Entities per page (default 1,000; fewer when lines are long, see PAGE_CHARS). */
  pageEntities?: number;
  /**
   * False: check only that every file has the size the manifest records (a cut file is still
   * caught), not its SHA-256: cheap enough to look at thousands of archives. Default true.
   */
  checkContent?: boolean;
}

/** A page is cut once its lines reach this many characters, whatever its entity count. */
const PAGE_CHARS = 4 * 1024 * 1024;

export class ArchiveSource implements CopySource {
  private constructor(
    readonly dir: string,
    private readonly config: CopyConfig,
    readonly manifest: ArchiveManifest | null,
    private readonly pageEntities: number,
  ) {}

  /** Opens and checks the archive in `dir`; throws CopyError `archive-invalid` saying what is wrong. */
  static async open(dir: string, options: OpenArchiveOptions = {}): Promise<ArchiveSource> {
    const { requireManifest = true, pageEntities = 1_000, checkContent = true } = options;
    const manifest = requireManifest ? await readManifest(dir) : null;
    const configText = await readText(dir, CONFIG_FILE);
    if (manifest) checkText(CONFIG_FILE, configText, manifest.config);
    const config = parseConfig(configText);
    if (manifest) {
      for (const plan of config.namespaces) {
        const entry = manifest.namespaces[plan.name];
        if (!entry) throw invalid(`${MANIFEST_FILE} has no entry for namespace ${plan.name}`);
        await checkFile(dir, entry, checkContent);
      }
    }
    return new ArchiveSource(dir, config, manifest, pageEntities);
  }

  async readConfig(): Promise<CopyConfig> {
    return this.config;
  }

  async *readNamespace(plan: NamespacePlan, from: number, signal: AbortSignal): AsyncIterable<CopiedEntity[]> {
    const file = this.manifest?.namespaces[plan.name]?.file ?? entityFileName(plan.name);
    const stream = createReadStream(join(this.dir, file), { encoding: 'utf8', signal });
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let page: CopiedEntity[] = [];
    let chars = 0;
    let index = 0;
    try {
      for await (const line of lines) {
        index++;
        if (index <= from || line === '') continue;
        page.push(fromLine(plan, line, file, index));
        chars += line.length;
        if (page.length >= this.pageEntities || chars >= PAGE_CHARS) {
          yield page;
          page = [];
          chars = 0;
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw invalid(`${file} is missing`);
      throw error;
    } finally {
      lines.close();
      stream.destroy();
    }
    if (page.length > 0) yield page;
  }

  counts(): Record<string, number> | null {
    if (!this.manifest) return null;
    return Object.fromEntries(Object.entries(this.manifest.namespaces).map(([ns, entry]) => [ns, entry.count]));
  }

  expected(): ExpectedContent | null {
    if (!this.manifest) return null;
    return {
      namespaces: Object.fromEntries(
        Object.entries(this.manifest.namespaces).map(([ns, entry]) => [
          ns,
          { count: entry.count, checksum: entry.checksum },
        ]),
      ),
    };
  }

  async close(): Promise<void> {}
}

/** One JSONL line back into an entity: the plan's link labels are links, every other key an attribute. */
function fromLine(plan: NamespacePlan, line: string, file: string, lineNumber: number): CopiedEntity {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw invalid(`${file} line ${lineNumber} is not JSON (the file is cut short or altered)`);
  }
  const entity = (parsed as { entity?: unknown } | null)?.entity;
  if (typeof entity !== 'object' || entity === null || typeof (entity as { id?: unknown }).id !== 'string')
    throw invalid(`${file} line ${lineNumber} has no entity with an id`);
  const record = entity as Record<string, unknown>;
  const attrs: Record<string, unknown> = {};
  const links: Record<string, string[]> = {};
  const labels = new Set(plan.links.map((link) => link.label));
  for (const key in record) {
    if (key === 'id') continue;
    if (!labels.has(key)) {
      attrs[key] = record[key];
      continue;
    }
    const value = record[key];
    const ids = Array.isArray(value) ? value : [value];
    if (!ids.every((id): id is string => typeof id === 'string'))
      throw invalid(`${file} line ${lineNumber}: link ${key} must hold entity ids`);
    if (ids.length > 0) links[key] = ids;
  }
  return { id: record['id'] as string, attrs, links };
}

async function readManifest(dir: string): Promise<ArchiveManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const exists = await stat(dir).then(
        () => true,
        () => false,
      );
      throw invalid(exists ? `${dir} has no ${MANIFEST_FILE}: the archive is incomplete` : `no archive at ${dir}`);
    }
    throw invalid(`cannot read ${join(dir, MANIFEST_FILE)} (${code ?? String(error)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`${MANIFEST_FILE} is not JSON (cut short or altered)`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success)
    throw invalid(
      `${MANIFEST_FILE} is not an archive manifest of this version (at ${parsed.error.issues[0]?.path.join('.') || 'the top'})`,
    );
  return parsed.data;
}

async function readText(dir: string, file: string): Promise<string> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw invalid(
      code === 'ENOENT' ? `${file} is missing in ${dir}` : `cannot read ${file} (${code ?? String(error)})`,
    );
  }
}

function parseConfig(text: string): CopyConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalid(`${CONFIG_FILE} is not JSON (cut short or altered)`);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success)
    throw invalid(
      `${CONFIG_FILE} is not an archive config of this version (at ${parsed.error.issues[0]?.path.join('.') || 'the top'})`,
    );
  return configFrom(parsed.data);
}

function checkText(file: string, text: string, entry: { bytes: number; sha256: string }): void {
  const bytes = Buffer.byteLength(text);
  if (bytes !== entry.bytes) throw sizeMismatch(file, bytes, entry.bytes);
  if (createHash('sha256').update(text).digest('hex') !== entry.sha256) throw checksumMismatch(file);
}

/** Size first (cheap: a cut file is caught before it is read), then the SHA-256 of its bytes. */
async function checkFile(
  dir: string,
  entry: { file: string; bytes: number; sha256: string },
  checkContent: boolean,
): Promise<void> {
  const path = join(dir, entry.file);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw invalid(`${entry.file} is missing`);
  }
  if (size !== entry.bytes) throw sizeMismatch(entry.file, size, entry.bytes);
  if (!checkContent) return;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== entry.sha256) throw checksumMismatch(entry.file);
}

function sizeMismatch(file: string, actual: number, expected: number): CopyError {
  const how = actual < expected ? 'truncated' : 'longer than recorded';
  return invalid(`${file} is ${how}: ${actual} bytes, the manifest says ${expected}`);
}

function checksumMismatch(file: string): CopyError {
  return invalid(`${file} does not match its checksum in ${MANIFEST_FILE}: the archive was altered`);
}

function invalid(message: string): CopyError {
  return new CopyError('archive-invalid', `archive invalid: ${message}`);
}
