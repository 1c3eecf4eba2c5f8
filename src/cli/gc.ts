/** `instant-provisioner gc [--delete] [--match-names] [--json]`: apps no record holds. */
import { Command } from 'commander';
import type { Flags } from '../config.js';
import type { GcApp, GcPlan } from '../core/operations/garbage-collector.js';
import { EXIT } from './exit-codes.js';
import { openProvisioner } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { exitOnStopSignal } from './process.js';

interface GcOptions extends Flags {
  delete?: boolean;
  matchNames?: boolean;
  json?: boolean;
}

export function gcCommand(): Command {
  const command = new Command('gc')
    .description(
      "List the account's apps the daemon can attribute but no record holds (a dry run), and those it cannot attribute (never touched)",
    )
    .option('--delete', 'delete the attributable apps, printing each one')
    .option('--match-names', 'also attribute apps titled like our names (three words) that no record has')
    .option('--json', 'print the plan (and what was deleted) as JSON');
  addSettingFlags(command);
  return command.action(async (options: GcOptions) => {
    process.exitCode = await exitOnStopSignal(() => gc(options));
  });
}

async function gc({ delete: remove, matchNames, json, ...flags }: GcOptions): Promise<number> {
  const opened = await openProvisioner(flags, 'stderr');
  if (typeof opened === 'number') return opened;
  const { provisioner } = opened;
  const plan = await provisioner.planGc(matchNames ?? false);
  const deleted: GcApp[] = [];
  if (!json) process.stdout.write(formatPlan(plan, remove ?? false));
  if (remove) {
    await provisioner.deleteGc(plan, (app) => {
      deleted.push(app);
      if (!json) process.stdout.write(`deleted ${app.appId} "${app.title}" (${app.reason})\n`);
    });
    if (!json) process.stdout.write(`${deleted.length} of ${plan.attributable.length} attributable apps deleted\n`);
  }
  if (json) process.stdout.write(JSON.stringify({ ...plan, deleted: remove ? deleted : null }, null, 2) + '\n');
  return remove && deleted.length < plan.attributable.length ? EXIT.someFailed : EXIT.ok;
}

export function formatPlan(plan: GcPlan, deleting: boolean): string {
  const lines = [`${plan.scanned} apps in the account`];
  const heading = deleting ? 'Attributable, deleting' : 'Attributable (gc --delete deletes these)';
  lines.push(`${heading}: ${plan.attributable.length}`);
  for (const app of plan.attributable) lines.push(`  ${describe(app)}`);
  lines.push(`Not attributable, never touched: ${plan.unattributable.length}`);
  for (const app of plan.unattributable) lines.push(`  ${describe(app)}`);
  if (plan.inFlight > 0) lines.push(`Being provisioned right now, left alone: ${plan.inFlight}`);
  return lines.join('\n') + '\n';
}

function describe(app: GcApp): string {
  return `${app.appId} "${app.title}" created ${app.createdAt}: ${app.reason}`;
}
