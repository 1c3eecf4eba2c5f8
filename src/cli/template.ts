/** `instant-provisioner template push [--dry-run]`: every ready database onto the current template. */
import { Command } from 'commander';
import type { Flags } from '../config.js';
import type { TemplatePlan, TemplatePushSummary } from '../core/template-push.js';
import { EXIT } from './exit-codes.js';
import { openProvisioner } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { withStopSignal } from './process.js';
import { progressReporter } from './progress.js';

interface PushOptions extends Flags {
  dryRun?: boolean;
}

export function templateCommand(): Command {
  const push = new Command('push')
    .description(
      'Push the template (--template-schema, --template-perms) to every ready database created with another one; resumable',
    )
    .option('--dry-run', "print what would change (from the server's schema plan and a rules diff), change nothing");
  addSettingFlags(push);
  push.addHelpText(
    'after',
    '\nExit codes: 0 every database is on the template; 1 some failed; 2 bad usage; 3 stopped by a global condition; 130 interrupted.',
  );
  push.action(async (options: PushOptions) => {
    process.exitCode = await pushCommand(options);
  });
  return new Command('template').description('Manage the template task databases are created from').addCommand(push);
}

function pushCommand(options: PushOptions): Promise<number> {
  return withStopSignal((stopping) => push(options, stopping));
}

async function push({ dryRun, ...flags }: PushOptions, stopping: AbortSignal): Promise<number> {
  const opened = await openProvisioner(flags, 'stderr');
  if (typeof opened === 'number') return opened;
  const progress = progressReporter({ label: dryRun ? 'template plan' : 'template push' });
  const onProgress = (done: number, total: number) => progress.update({ done, total });
  const { provisioner } = opened;
  const outcome = dryRun
    ? await provisioner.planTemplate(stopping, onProgress)
    : await provisioner.pushTemplate(stopping, onProgress);
  progress.stop();
  process.stdout.write('apps' in outcome ? formatPlan(outcome) : formatPush(outcome));
  if (stopping.aborted) return EXIT.interrupted;
  if (outcome.abortedBy) return EXIT.aborted;
  return outcome.failed.length > 0 ? EXIT.someFailed : EXIT.ok;
}

function formatPush(summary: TemplatePushSummary): string {
  const lines = [
    `template push: ${summary.updated} updated, ${summary.current} already current, ${summary.failed.length} failed in ${(summary.elapsedMs / 1000).toFixed(1)} s`,
  ];
  if (summary.elsewhere > 0) lines.push(elsewhere(summary.elsewhere));
  for (const app of summary.failed)
    lines.push(`  failed: task ${app.taskId} ${app.name} (${app.appId ?? 'no app'}): ${app.reason}`);
  if (summary.abortedBy) lines.push(`stopped early: ${summary.abortedBy}`);
  return lines.join('\n') + '\n';
}

function formatPlan(plan: TemplatePlan): string {
  const lines = [
    `template push --dry-run: ${plan.total - plan.elsewhere} apps to update, ${plan.current} already current`,
  ];
  if (plan.elsewhere > 0) lines.push(elsewhere(plan.elsewhere));
  for (const app of plan.apps) {
    const changes = app.steps.map((step) => `${step.action} ${step.target}`);
    if (app.rulesChange) changes.push('rules');
    lines.push(
      `  task ${app.taskId} ${app.name} (${app.appId}): ${changes.length > 0 ? changes.join(', ') : 'template mark only'}`,
    );
  }
  for (const app of plan.failed) lines.push(`  could not plan: task ${app.taskId} ${app.name}: ${app.reason}`);
  if (plan.abortedBy) lines.push(`stopped early: ${plan.abortedBy}`);
  return lines.join('\n') + '\n';
}

function elsewhere(count: number): string {
  return `  ${count} on another server, left alone: run template push with that server's INSTANT_API_URI`;
}
