/**
 * `instant-provisioner migrate --target-api-uri URL --target-platform-token TOKEN [--dry-run]
 * [--task ID...] [--source-app keep|delete]`: every ready task database on the configured server
 * (INSTANT_API_URI) moved to the target with its app id and admin token, verified, each record
 * marked as living there in one write. Resumable. See core/operations/migrate-databases.ts.
 */
import { Command, Option } from 'commander';
import { normalizeApiUri } from '../api-uri.js';
import type { Flags } from '../config.js';
import type { MigrateSummary, MigrationPlan } from '../core/operations/migrate-databases.js';
import { readEnv } from './env.js';
import { EXIT } from './exit-codes.js';
import { openProvisioner, usage } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { withStopSignal } from './process.js';
import { progressReporter } from './progress.js';

interface MigrateOptions extends Flags {
  targetApiUri?: string;
  targetPlatformToken?: string;
  dryRun?: boolean;
  task?: string[];
  sourceApp?: string;
}

/** Where the target's token may come from instead of the flag (flags show in the process list). */
const TARGET_TOKEN_ENV = 'INSTANT_TARGET_PLATFORM_TOKEN';

export function migrateCommand(): Command {
  const command = new Command('migrate')
    .description(
      'Move every ready task database on INSTANT_API_URI (or those of --task) to another Instant server, keeping app ids and admin tokens; verified, resumable',
    )
    .addOption(new Option('--target-api-uri <url>', 'the Instant server the apps move to (a self-hosted one)'))
    .addOption(
      new Option(
        '--target-platform-token <token>',
        `a personal access token of the target server's account that will own the apps [env: ${TARGET_TOKEN_ENV}]`,
      ),
    )
    .addOption(new Option('--dry-run', 'print the plan (apps, entity counts, estimated bytes); change nothing'))
    .addOption(new Option('--task <taskId...>', 'move only the databases of these tasks'))
    .addOption(
      new Option('--source-app <what>', 'what becomes of each app on the source once moved')
        .choices(['keep', 'delete'])
        .default('keep'),
    );
  addSettingFlags(command);
  command.addHelpText(
    'after',
    '\nExit codes: 0 every database moved (or already had); 1 some failed (each printed with its reason; run again to resume); ' +
      '2 bad usage, a target that refuses chosen ids, rejects its token or does not answer; 130 interrupted.',
  );
  return command.action(async (options: MigrateOptions) => {
    process.exitCode = await withStopSignal((stopping) => migrate(options, stopping));
  });
}

async function migrate(
  { targetApiUri, targetPlatformToken, dryRun, task, sourceApp, ...flags }: MigrateOptions,
  stopping: AbortSignal,
): Promise<number> {
  if (targetApiUri === undefined || targetApiUri.trim() === '') return usage('migrate needs --target-api-uri <url>');
  let target: string;
  try {
    target = normalizeApiUri(targetApiUri.trim());
    if (!/^https?:$/.test(new URL(target).protocol)) throw new Error('not http(s)');
  } catch {
    return usage(`--target-api-uri must be an http(s) URL (got "${targetApiUri}")`);
  }
  const token = (targetPlatformToken ?? readEnv()[TARGET_TOKEN_ENV] ?? '').trim();
  if (token === '') return usage(`migrate needs --target-platform-token <token> (or ${TARGET_TOKEN_ENV})`);
  if (task !== undefined && task.length === 0) return usage('--task needs at least one task id');
  const opened = await openProvisioner(flags, 'stderr', undefined, [token]);
  if (typeof opened === 'number') return opened;
  if (normalizeApiUri(opened.config.apiUri) === target)
    return usage(`--target-api-uri is INSTANT_API_URI (${target}): the apps already live there`);

  const progress = progressReporter({ label: dryRun ? 'migrate plan' : 'migrate' });
  const started = Date.now();
  let outcome: MigrateSummary | MigrationPlan;
  try {
    outcome = await opened.provisioner.migrate(
      { apiUri: target, platformToken: token },
      { tasks: task ?? 'all', sourceApp: sourceApp === 'delete' ? 'delete' : 'keep', dryRun: dryRun === true },
      stopping,
      ({ done, total }) => progress.update({ done, total }),
    );
  } finally {
    progress.stop();
  }
  const elapsedMs = Date.now() - started;
  const report =
    'toStamp' in outcome ? formatPlan(outcome, opened.config.apiUri, target) : formatSummary(outcome, elapsedMs);
  if (outcome.abortedBy) {
    // Refused at the start: nothing was done, one line says why. Later: what was done, then that line.
    if (!('toStamp' in outcome) && outcome.moved.length + outcome.alreadyMoved.length + outcome.stamped > 0)
      process.stdout.write(report);
    return usage(outcome.abortedBy);
  }
  process.stdout.write(report);
  if (stopping.aborted) return EXIT.interrupted;
  return outcome.failed.length > 0 ? EXIT.someFailed : EXIT.ok;
}

function formatSummary(summary: MigrateSummary, elapsedMs: number): string {
  const entities = summary.moved.reduce((sum, app) => sum + app.entityCount, 0);
  const lines = [
    `migrate: ${summary.moved.length} moved, ${summary.alreadyMoved.length} already moved, ${summary.failed.length} failed ` +
      `in ${(elapsedMs / 1000).toFixed(1)} s (${entities} entities; ${summary.stamped} records stamped with the source first)`,
  ];
  for (const app of summary.moved)
    lines.push(
      `  moved: task ${app.taskId} ${app.name} (app ${app.appId}): ${app.entityCount} entities; source app ${app.sourceApp}`,
    );
  for (const app of summary.alreadyMoved)
    lines.push(`  already moved: task ${app.taskId} ${app.name} (app ${app.appId}); source app ${app.sourceApp}`);
  for (const failure of summary.failed)
    lines.push(`  failed: task ${failure.taskId}${failure.appId ? ` (app ${failure.appId})` : ''}: ${failure.reason}`);
  if (summary.interrupted) lines.push('stopped early: interrupted; run it again to resume');
  return lines.join('\n') + '\n';
}

function formatPlan(plan: MigrationPlan, source: string, target: string): string {
  const entities = plan.apps.reduce((sum, app) => sum + app.survey.entityCount, 0);
  const bytes = plan.apps.reduce((sum, app) => sum + app.survey.estimatedBytes, 0);
  const notReady = Object.entries(plan.notReady)
    .map(([status, count]) => `${count} ${status}`)
    .join(', ');
  const lines = [
    `migrate --dry-run: ${plan.apps.length} apps to move from ${source} to ${target}, ${entities} entities, ~${formatBytes(bytes)}; ` +
      `${plan.alreadyMoved} already moved; ${plan.toStamp} records to stamp with the source first`,
  ];
  for (const app of plan.apps) {
    const counts = Object.entries(app.survey.namespaces)
      .map(([ns, count]) => `${ns} ${count}`)
      .join(', ');
    lines.push(
      `  task ${app.taskId} ${app.name} (app ${app.appId}): ${app.survey.entityCount} entities${counts ? ` (${counts})` : ''}, ` +
        `~${formatBytes(app.survey.estimatedBytes)}${app.onTarget ? '; on the target already (a run resumes it)' : ''}`,
    );
  }
  for (const failure of plan.failed)
    lines.push(
      `  cannot move: task ${failure.taskId}${failure.appId ? ` (app ${failure.appId})` : ''}: ${failure.reason}`,
    );
  if (notReady) lines.push(`Not moved (not ready, in the whole main app): ${notReady}.`);
  lines.push(
    'Bytes are estimated: each namespace counted through the admin API, times the mean size of an archive line of its first 200 entities.',
  );
  if (plan.interrupted) lines.push('stopped early: interrupted');
  return lines.join('\n') + '\n';
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GB`;
}
