/**
 * `instant-provisioner restore --task <id> --from <archive> [--old-app keep|delete]`: the task's
 * database becomes a new app holding the archive (checked whole first), verified, then the record
 * moves to it in one write; the old app is kept (renamed) or deleted. A killed restore is resumed by
 * running the same command again. See core/operations/restore-database.ts.
 */
import { Command, Option } from 'commander';
import { AbortedError } from '../clock.js';
import type { Flags } from '../config.js';
import { CheckedArchive } from '../copy/archive-restore.js';
import type { RestoreOutcome } from '../core/operations/restore-database.js';
import { CopyError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { openProvisioner, usage } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { withStopSignal } from './process.js';
import { progressReporter } from './progress.js';

interface RestoreOptions extends Flags {
  task?: string;
  from?: string;
  oldApp?: string;
}

export function restoreCommand(): Command {
  const command = new Command('restore')
    .description(
      "Restore a task's database from an archive (`backup`) into a new app on the record's server, verified, then move the record to it; resumable",
    )
    .addOption(new Option('--task <taskId>', 'the task whose database is restored'))
    .addOption(new Option('--from <archive>', "the archive's folder (<backup dir>/<taskId>)"))
    .addOption(
      new Option('--old-app <what>', 'what becomes of the app the record named before')
        .choices(['keep', 'delete'])
        .default('keep'),
    );
  addSettingFlags(command);
  command.addHelpText(
    'after',
    '\nExit codes: 0 restored; 1 the restore failed on the way (run it again to resume); 2 bad usage, a missing or corrupt archive, no ready database, or a server that refuses chosen ids; 130 interrupted.',
  );
  return command.action(async (options: RestoreOptions) => {
    process.exitCode = await withStopSignal((stopping) => restore(options, stopping));
  });
}

async function restore({ task, from, oldApp, ...flags }: RestoreOptions, stopping: AbortSignal): Promise<number> {
  if (task === undefined || task.trim() === '') return usage('restore needs --task <taskId>');
  if (from === undefined || from.trim() === '') return usage('restore needs --from <archive>');
  // The archive is checked whole before anything else: a bad one changes nothing, and needs no credentials.
  let archive: CheckedArchive;
  try {
    archive = await CheckedArchive.open(from, stopping);
  } catch (error) {
    if (error instanceof CopyError) return usage(error.message);
    if (error instanceof AbortedError || stopping.aborted) return EXIT.interrupted;
    throw error;
  }
  const opened = await openProvisioner(flags, 'stderr');
  if (typeof opened === 'number') return opened;
  const progress = progressReporter({ label: 'restore' });
  let outcome: RestoreOutcome;
  try {
    outcome = await opened.provisioner.restore(
      task,
      archive,
      oldApp === 'delete' ? 'delete' : 'keep',
      stopping,
      (done, total) => progress.update({ done, total: Math.max(done, total) }),
    );
  } catch (error) {
    if (error instanceof AbortedError || stopping.aborted) {
      process.stdout.write(`restore: task ${task}: interrupted; run the same command again to resume\n`);
      return EXIT.interrupted;
    }
    throw error;
  } finally {
    progress.stop();
  }
  switch (outcome.kind) {
    case 'refused':
      return usage(outcome.reason);
    case 'failed': {
      const pending = outcome.pendingAppId ? ` (its new app ${outcome.pendingAppId} is pending)` : '';
      process.stdout.write(`restore: task ${task} failed: ${outcome.reason}; run it again to resume${pending}\n`);
      return EXIT.someFailed;
    }
    case 'restored':
      process.stdout.write(
        `restore: task ${task} restored from ${from} into app ${outcome.newAppId} (${outcome.entityCount} entities, verified${outcome.resumed ? ', resumed' : ''}); old app ${outcome.oldAppId} ${outcome.oldApp}\n`,
      );
      return EXIT.ok;
  }
}
