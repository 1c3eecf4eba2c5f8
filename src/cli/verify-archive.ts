/**
 * `instant-provisioner verify-archive <dir>`: checks one archive (a folder `backup` wrote) whole,
 * without any credentials: its manifest, every file's size and SHA-256, and every entity against
 * the content checksums. Exit 0 with one summary line; a missing, incomplete, truncated or altered
 * archive is exit 2 with one line saying what is wrong.
 */
import { Command } from 'commander';
import { verifyArchive } from '../copy/verify-archive.js';
import { CopyError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { usage } from './open-provisioner.js';

export function verifyArchiveCommand(): Command {
  return new Command('verify-archive')
    .description(
      'Check an archive made by `backup` (manifest, file checksums, content checksums); no credentials needed',
    )
    .argument('<dir>', "the archive's folder (<backup dir>/<taskId>)")
    .addHelpText('after', '\nExit codes: 0 the archive is complete and intact; 2 it is missing, incomplete or corrupt.')
    .action(async (dir: string) => {
      process.exitCode = await verify(dir);
    });
}

async function verify(dir: string): Promise<number> {
  try {
    const result = await verifyArchive(dir);
    const namespaces = Object.keys(result.namespaces).length;
    process.stdout.write(
      `verify-archive: ${dir} is complete: ${result.entityCount} entities in ${namespaces} namespaces, ${result.sizeBytes} bytes, checksum ${result.checksum}\n`,
    );
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CopyError) return usage(error.message);
    throw error;
  }
}
