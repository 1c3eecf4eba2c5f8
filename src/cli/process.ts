/** Process plumbing shared by the commands: stop signals and configuration errors. */
import { ConfigError } from '../config.js';
import { EXIT } from './exit-codes.js';

/**
 * Calls `onStop` on the first SIGTERM or SIGINT; a second one exits at once.
 * Returns a function that removes the listeners again.
 */
export function onStopSignal(onStop: () => void): () => void {
  let stopping = false;
  const handler = () => {
    if (stopping) process.exit(130);
    stopping = true;
    onStop();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

/** Resolves on the first SIGTERM or SIGINT (a second one exits at once). */
export function untilStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const detach = onStopSignal(() => {
      detach();
      resolve();
    });
  });
}

/** Prints one line per configuration problem and returns the exit code; rethrows anything else. */
export function printConfigProblems(error: unknown): number {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) process.stderr.write(`instant-provisioner: ${problem}\n`);
  return EXIT.config;
}
