/**
 * `instant-provisioner backup (--task <id>... | --all) --out <dir>`: one verified archive per ready
 * task database, `<dir>/<taskId>/`, and `<dir>/manifest.json` with every archive's counts and
 * checksums; each record remembers its last backup. Resumable: complete archives are skipped.
 */
import { Command, Option } from 'commander';
import type { Flags } from '../config.js';
import type { BackupSummary } from '../core/operations/backup-databases.js';
import { EXIT } from './exit-codes.js';
import { openProvisioner, usage } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { withStopSignal } from './process.js';
import { progressReporter } from './progress.js';

interface BackupOptions extends Flags {
  task?: string[];
  all?: boolean;
  out?: string;
}

export function backupCommand(): Command {
  const command = new Command('backup')
    .description(
      "Archive ready task databases (schema, rules, every entity and link), read with each app's own admin token; one folder per task under --out, verified, resumable",
    )
    .addOption(new Option('--task <taskId...>', 'back up the databases of these tasks'))
    .addOption(new Option('--all', 'back up every ready database'))
    .addOption(new Option('--out <dir>', 'the directory the archives go under'));
  addSettingFlags(command);
  command.addHelpText(
    'after',
    '\nExit codes: 0 every database is backed up; 1 some failed (each printed with its reason); 2 bad usage or configuration; 130 interrupted.',
  );
  return command.action(async (options: BackupOptions) => {
    process.exitCode = await withStopSignal((stopping) => backup(options, stopping));
  });
}

async function backup({ task, all, out, ...flags }: BackupOptions, stopping: AbortSignal): Promise<number> {
  if (out === undefined || out.trim() === '') return usage('backup needs --out <dir>');
  if ((task === undefined) === (all !== true)) return usage('backup needs either --task <taskId...> or --all');
  const opened = await openProvisioner(flags, 'stderr');
  if (typeof opened === 'number') return opened;
  const progress = progressReporter({ label: 'backup' });
  const started = Date.now();
  let summary: BackupSummary;
  try {
    summary = await opened.provisioner.backup(out, all ? 'all' : task!, stopping, ({ done, total }) =>
      progress.update({ done, total }),
    );
  } finally {
    progress.stop();
  }
  process.stdout.write(formatSummary(summary, Date.now() - started));
  if (stopping.aborted) return EXIT.interrupted;
  return summary.failed.length > 0 ? EXIT.someFailed : EXIT.ok;
}

function formatSummary(summary: BackupSummary, elapsedMs: number): string {
  const all = [...summary.backedUp, ...summary.alreadyComplete];
  const entities = all.reduce((sum, entry) => sum + entry.entityCount, 0);
  const bytes = all.reduce((sum, entry) => sum + entry.sizeBytes, 0);
  const lines = [
    `backup: ${summary.backedUp.length} backed up, ${summary.alreadyComplete.length} already complete, ${summary.failed.length} failed in ${(elapsedMs / 1000).toFixed(1)} s (${entities} entities, ${bytes} bytes)`,
  ];
  if (summary.elsewhere > 0)
    lines.push(`  ${summary.elsewhere} on another server, left alone: run backup with that server's INSTANT_API_URI`);
  for (const failure of summary.failed) lines.push(`  failed: task ${failure.taskId}: ${failure.reason}`);
  if (summary.interrupted) lines.push('stopped early: interrupted');
  return lines.join('\n') + '\n';
}
