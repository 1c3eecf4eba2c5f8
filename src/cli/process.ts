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

/**
 * Runs `command` with a signal that aborts on the first SIGTERM or SIGINT, listening from
 * before it starts (a signal while starting up must still end in a clean exit).
 */
export async function withStopSignal<T>(command: (stopping: AbortSignal) => Promise<T>): Promise<T> {
  const stopping = new AbortController();
  const detach = onStopSignal(() => stopping.abort());
  try {
    return await command(stopping.signal);
  } finally {
    detach();
  }
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
