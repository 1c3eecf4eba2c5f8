/** `instant-provisioner rotate-token-key`: every stored admin token sealed under PROVISIONER_TOKEN_KEY. */
import { Command } from 'commander';
import { ConfigError, type Flags } from '../config.js';
import { EXIT } from './exit-codes.js';
import { openProvisioner, usage } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { exitOnStopSignal } from './process.js';
import { progressReporter } from './progress.js';

export function rotateTokenKeyCommand(): Command {
  const command = new Command('rotate-token-key').description(
    'Seal every stored admin token under PROVISIONER_TOKEN_KEY, opening older envelopes with PROVISIONER_PREVIOUS_TOKEN_KEYS (plain tokens are sealed as they are). Resumable: run it again after an interruption.',
  );
  addSettingFlags(command);
  command.addHelpText(
    'after',
    '\nExit codes: 0 every token is under the current key; 1 some could not be opened; 2 bad configuration.',
  );
  return command.action(async (flags: Flags) => {
    process.exitCode = await exitOnStopSignal(() => rotate(flags));
  });
}

async function rotate(flags: Flags): Promise<number> {
  const opened = await openProvisioner(flags, 'stderr');
  if (typeof opened === 'number') return opened;
  const progress = progressReporter({ label: 'rotate-token-key' });
  let summary;
  try {
    // The number of records is not known up front: the bar's total follows what was read.
    summary = await opened.provisioner.rotateTokenKey((done) =>
      progress.update({ done, total: done, discovering: true }),
    );
  } catch (error) {
    if (error instanceof ConfigError) return usage(error.message);
    throw error;
  } finally {
    progress.stop();
  }
  process.stdout.write(
    `rotate-token-key: ${summary.resealed} resealed, ${summary.current} already under the current key, ${summary.failed.length} failed\n`,
  );
  for (const failure of summary.failed)
    process.stdout.write(`  task ${failure.taskId} (record ${failure.databaseId}): ${failure.reason}\n`);
  return summary.failed.length > 0 ? EXIT.someFailed : EXIT.ok;
}
