/**
 * Checks an archive whole without copying it anywhere: opening it checks the manifest and every
 * file's size and SHA-256; reading every entity checks the content checksums the manifest records.
 */
import { CopyError } from '../errors.js';
import { resultFromManifest } from './archive-format.js';
import { ArchiveSource } from './archive-source.js';
import { ContentSum } from './checksum.js';
import type { CopyResult } from './types.js';

/** What the archive in `dir` holds; throws CopyError `archive-invalid` saying what is wrong. */
export async function verifyArchive(
  dir: string,
  signal: AbortSignal = new AbortController().signal,
): Promise<CopyResult> {
  const archive = await ArchiveSource.open(dir);
  const manifest = archive.manifest!;
  const config = await archive.readConfig();
  for (const plan of config.namespaces) {
    const sum = new ContentSum();
    for await (const page of archive.readNamespace(plan, 0, signal))
      for (const entity of page) sum.add(plan.name, entity);
    const entry = manifest.namespaces[plan.name]!;
    if (sum.count !== entry.count || sum.hex !== entry.checksum)
      throw new CopyError(
        'archive-invalid',
        `archive invalid: the entities of ${plan.name} do not match the manifest's count and checksum`,
      );
  }
  return resultFromManifest(manifest);
}
