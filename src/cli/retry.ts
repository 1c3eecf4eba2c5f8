/** `instant-provisioner retry (<taskId>... | --failed)`: failed records back to work. */
import { Command } from 'commander';
import type { Flags } from '../config.js';
import { EXIT } from './exit-codes.js';
import { openProvisioner, usage } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { exitOnStopSignal } from './process.js';

interface RetryOptions extends Flags {
  failed?: boolean;
}

export function retryCommand(): Command {
  const command = new Command('retry')
    .description(
      'Put failed task databases back to work (attempts reset); a running daemon, or the next `reconcile --once`, provisions them',
    )
    .argument('[taskIds...]', 'the tasks whose failed databases to retry')
    .option('--failed', 'retry every failed database');
  addSettingFlags(command);
  command.addHelpText('after', '\nExit codes: 0 all retried; 1 some task had no failed database; 2 bad usage.');
  return command.action(async (taskIds: string[], options: RetryOptions) => {
    process.exitCode = await exitOnStopSignal(() => retry(taskIds, options));
  });
}

async function retry(taskIds: string[], { failed, ...flags }: RetryOptions): Promise<number> {
  if (failed && taskIds.length > 0) return usage('give task ids or --failed, not both');
  if (!failed && taskIds.length === 0)
    return usage('give the task ids to retry, or --failed for every failed database');
  const opened = await openProvisioner(flags, 'stderr');
  if (typeof opened === 'number') return opened;
  const { provisioner } = opened;

  if (failed) {
    const retried = await provisioner.retryAllFailed();
    process.stdout.write(`${retried} failed databases put back to work\n`);
    return EXIT.ok;
  }
  const results = await provisioner.retryTasks(taskIds);
  for (const { taskId, outcome } of results) process.stdout.write(`${taskId}: ${OUTCOME_TEXT[outcome]}\n`);
  return results.every(({ outcome }) => outcome === 'retried') ? EXIT.ok : EXIT.someFailed;
}

const OUTCOME_TEXT = {
  retried: 'retried',
  'not-failed': 'not retried: its database is not failed',
  'not-found': 'not retried: no database record for this task',
} as const;
