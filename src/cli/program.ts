/** The `instant-provisioner` command line: every command, parsed by commander. */
import { Command, CommanderError } from 'commander';
import { EXIT } from './exit-codes.js';
import { backupCommand } from './backup.js';
import { gcCommand } from './gc.js';
import { migrateCommand } from './migrate.js';
import { reconcileCommand } from './reconcile.js';
import { restoreCommand } from './restore.js';
import { retryCommand } from './retry.js';
import { rotateTokenKeyCommand } from './rotate-token-key.js';
import { sandboxCommand } from './sandbox.js';
import { startCommand } from './start.js';
import { statusCommand } from './status.js';
import { templateCommand } from './template.js';
import { verifyArchiveCommand } from './verify-archive.js';

/** The command line as commander defines it (tests read its options). */
export const program = new Command('instant-provisioner')
  .description('Gives every task in an InstantDB app its own dedicated InstantDB database.')
  .exitOverride()
  .addCommand(reconcileCommand())
  .addCommand(startCommand())
  .addCommand(sandboxCommand())
  .addCommand(statusCommand())
  .addCommand(retryCommand())
  .addCommand(gcCommand())
  .addCommand(templateCommand())
  .addCommand(rotateTokenKeyCommand())
  .addCommand(backupCommand())
  .addCommand(verifyArchiveCommand())
  .addCommand(restoreCommand())
  .addCommand(migrateCommand());
const allCommands = (command: Command): Command[] => command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
for (const command of allCommands(program)) command.exitOverride().showHelpAfterError('(add --help for usage)');

/** Parses `argv` and runs the command; resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // Help and version exit 0; every usage error exits 2, like a configuration error.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.config;
  }
  return Number(process.exitCode ?? EXIT.ok);
}
