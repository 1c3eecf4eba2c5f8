/**
 * The archive: one directory per copied app, laid out like Instant's own backups
 * (server/src/instant/backup.clj) where that costs nothing. See docs/archive-format.md.
 *
 *     config.json              written first: schema (definition format), rules, what is copied
 *     entities/<etype>.jsonl   one line per entity: {"entity": {"id": …, <attr>: value, <link>: id | [ids]}}
 *     manifest.json            written last: format version, counts, checksums, sizes
 *
 * An archive without a valid manifest is incomplete, whatever else it holds.
 */
import { z } from 'zod';
import type { CopyConfig, CopyResult } from './types.js';

export const ARCHIVE_FORMAT = 'instant-provisioner-archive';
export const ARCHIVE_VERSION = 1;
export const CONFIG_FILE = 'config.json';
export const MANIFEST_FILE = 'manifest.json';
export const ENTITIES_DIR = 'entities';

/** `entities/<etype>.jsonl`; a name that is not a plain file name is percent-encoded. */
export function entityFileName(ns: string): string {
  const plain = /^[A-Za-z0-9_$.-]+$/.test(ns) && ns !== '.' && ns !== '..';
  return `${ENTITIES_DIR}/${plain ? ns : encodeURIComponent(ns).replace(/\./g, '%2E')}.jsonl`;
}

/** A file of the archive as the manifest describes it. */
const fileEntry = z.object({
  file: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const checksum = z.string().regex(/^[0-9a-f]{64}$/);

/** manifest.json: what a complete archive holds, to the byte. */
export const manifestSchema = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  version: z.literal(ARCHIVE_VERSION),
  appId: z.string().nullable(),
  startedAt: z.string(),
  finishedAt: z.string(),
  entityCount: z.number().int().nonnegative(),
  /** Bytes of config.json and every entity file. */
  sizeBytes: z.number().int().nonnegative(),
  /** The content checksum over every namespace (see checksum.ts). */
  checksum,
  config: fileEntry,
  namespaces: z.record(z.string(), fileEntry.extend({ count: z.number().int().nonnegative(), checksum })),
});

export type ArchiveManifest = z.infer<typeof manifestSchema>;

const linkPlan = z.object({ label: z.string(), target: z.string(), has: z.enum(['one', 'many']) });

/** config.json: Instant's keys (`schema`, `rules`, `appId`) plus what we copy and in which order. */
export const configSchema = z.object({
  format: z.literal(ARCHIVE_FORMAT),
  version: z.literal(ARCHIVE_VERSION),
  appId: z.string().nullable(),
  schema: z.object({
    entities: z.record(z.string(), z.object({ attrs: z.record(z.string(), z.any()) })),
    links: z.record(z.string(), z.any()),
  }),
  rules: z.record(z.string(), z.unknown()).nullable(),
  namespaces: z.array(z.object({ name: z.string(), links: z.array(linkPlan), skippedLinks: z.array(z.string()) })),
});

/** The config.json text of a copy. */
export function configJson(config: CopyConfig): string {
  return (
    JSON.stringify(
      {
        format: ARCHIVE_FORMAT,
        version: ARCHIVE_VERSION,
        appId: config.sourceAppId,
        schema: config.schema,
        rules: config.rules,
        namespaces: config.namespaces,
      },
      null,
      2,
    ) + '\n'
  );
}

/** The CopyConfig a config.json describes (already checked against configSchema). */
export function configFrom(parsed: z.infer<typeof configSchema>): CopyConfig {
  return {
    schema: parsed.schema as CopyConfig['schema'],
    rules: parsed.rules,
    namespaces: parsed.namespaces,
    sourceAppId: parsed.appId,
  };
}

/** What the manifest says about a copy, in the engine's terms. */
export function resultFromManifest(manifest: ArchiveManifest): CopyResult {
  return {
    namespaces: Object.fromEntries(
      Object.entries(manifest.namespaces).map(([ns, entry]) => [ns, { count: entry.count, checksum: entry.checksum }]),
    ),
    entityCount: manifest.entityCount,
    checksum: manifest.checksum,
    sizeBytes: manifest.sizeBytes,
    verified: true,
  };
}
