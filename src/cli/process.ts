/**
 * Process plumbing shared by the commands: stop signals and configuration errors.
 *
 * Exit codes on a stop signal, the same in every command: Ctrl-C (SIGINT) ends with 130 once
 * work in flight is finished; SIGTERM ends a long-running command (the daemon, the sandbox, the
 * demo) with 0, its normal way to stop, and interrupted one-off work with 130; a second signal
 * exits 130 at once.
 */
import { ConfigError } from '../config.js';
import { EXIT } from './exit-codes.js';

export type StopSignal = 'SIGTERM' | 'SIGINT';

/**
 * Calls `onStop` with the signal on the first SIGTERM or SIGINT; a second one exits at once.
 * Returns a function that removes the listeners again.
 */
export function onStopSignal(onStop: (signal: StopSignal) => void): () => void {
  let stopping = false;
  const handler = (signal: StopSignal) => {
    if (stopping) process.exit(EXIT.interrupted);
    stopping = true;
    onStop(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}

/**
 * Runs `command` with a signal that aborts on the first SIGTERM or SIGINT (its `reason` is the
 * signal's name), listening from before it starts (a signal while starting up must still end in
 * a clean exit).
 */
export async function withStopSignal<T>(command: (stopping: AbortSignal) => Promise<T>): Promise<T> {
  const stopping = new AbortController();
  const detach = onStopSignal((signal) => stopping.abort(signal));
  try {
    return await command(stopping.signal);
  } finally {
    detach();
  }
}

/** Resolves once `stopping` (from withStopSignal) aborts: at once when it already has. */
export function untilStopped(stopping: AbortSignal): Promise<void> {
  if (stopping.aborted) return Promise.resolve();
  return new Promise((resolve) => stopping.addEventListener('abort', () => resolve(), { once: true }));
}

/** How a long-running command ends after `signal`: 130 for Ctrl-C, 0 for SIGTERM (see above). */
export function stoppedExitCode(signal: unknown): number {
  return signal === 'SIGINT' ? EXIT.interrupted : EXIT.ok;
}

/**
 * For one-off commands that have no point to stop at in between (status, retry, gc,
 * rotate-token-key): the first SIGTERM or SIGINT exits 130 at once. What they write is fenced
 * and each step stands alone, so running them again finishes the job.
 */
export async function exitOnStopSignal<T>(command: () => Promise<T>): Promise<T> {
  const detach = onStopSignal(() => process.exit(EXIT.interrupted));
  try {
    return await command();
  } finally {
    detach();
  }
}

/** Prints one line per configuration problem and returns the exit code; rethrows anything else. */
export function printConfigProblems(error: unknown): number {
  if (!(error instanceof ConfigError)) throw error;
  for (const problem of error.problems) process.stderr.write(`instant-provisioner: ${problem}\n`);
  return EXIT.config;
}
