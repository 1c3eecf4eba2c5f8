/** `instant-provisioner reconcile [--once]`: the daemon, or one pass for backfills. */
import { getHeapStatistics } from 'node:v8';
import { Command } from 'commander';
import type { Flags } from '../config.js';
import type { Logger } from '../core/logger.js';
import type { OnceSummary } from '../core/run-once.js';
import { Operations } from '../ops/operations.js';
import { EXIT } from './exit-codes.js';
import { listenProblem } from './listen-problem.js';
import { openProvisioner, usage } from './open-provisioner.js';
import { addSettingFlags } from './options.js';
import { stoppedExitCode, withStopSignal } from './process.js';
import { progressReporter } from './progress.js';

export function reconcileCommand(): Command {
  const command = new Command('reconcile')
    .description(
      'Give every task without a database its own InstantDB app. Runs until SIGTERM/SIGINT, then lets work in flight finish.',
    )
    .option('--once', 'process every unlinked task and unfinished record present now, print a summary, and exit');
  addSettingFlags(command);
  command.addHelpText(
    'after',
    `
Exit codes: 0 done (with --once: nothing failed), or stopped by SIGTERM; 1 with --once: some
task failed; 2 bad configuration or usage, or a rejected credential; 3 with --once: stopped by a
global condition (platform token rejected, app creation disabled); 130 stopped by Ctrl-C
(SIGINT), or --once interrupted by SIGINT/SIGTERM.`,
  );
  return command.action(async (options: Flags & { once?: boolean }) => {
    process.exitCode = await reconcile(options);
  });
}

/** Runs the command; resolves with the exit code. */
export function reconcile(options: Flags & { once?: boolean }): Promise<number> {
  return withStopSignal((stopping) => run(options, stopping));
}

async function run(options: Flags & { once?: boolean }, stopping: AbortSignal): Promise<number> {
  let operations: Operations | undefined;
  const opened = await openProvisioner(options, 'stdout', (config, logger) => {
    // The HTTP server is the daemon's: a one-off pass has nothing to serve for.
    if (options.once || config.httpPort === undefined) return undefined;
    operations = new Operations(config, logger);
    return operations.telemetry;
  });
  if (typeof opened === 'number') return opened;
  const { provisioner, config, logger } = opened;

  if (options.once) {
    const progress = progressReporter({ label: 'reconcile --once' });
    const summary = await provisioner.runOnce(stopping, (update) => progress.update(update));
    progress.stop();
    logger.info({ ...summary }, 'reconcile --once finished');
    process.stdout.write(formatSummary(summary) + '\n');
    if (stopping.aborted) return EXIT.interrupted;
    if (summary.abortedBy) return EXIT.aborted;
    return summary.failed > 0 ? EXIT.someFailed : EXIT.ok;
  }

  if (stopping.aborted) return stoppedExitCode(stopping.reason);
  // Listen before the 'reconciling' line: whoever waits for it may signal at once, and
  // SIGUSR2's default action would end the process.
  const detachMemoryReport = onMemoryReportSignal(logger);
  let server: Awaited<ReturnType<Operations['serve']>> | null = null;
  try {
    server = operations ? await operations.serve(provisioner, config.httpPort ?? 0) : null;
  } catch (error) {
    const problem = listenProblem(error, '--http-port');
    if (problem === null) throw error;
    detachMemoryReport();
    logger.error({}, problem);
    return usage(problem);
  }
  if (server) logger.info({ url: server.url }, 'http server listening');
  provisioner.start();
  await new Promise((resolve) => stopping.addEventListener('abort', resolve, { once: true }));
  detachMemoryReport();
  await server?.close();
  logger.info({ graceMs: config.shutdownGraceMs }, 'stopping: finishing work in flight');
  const { drained } = await provisioner.stop();
  logger.info({ drained }, drained ? 'stopped' : 'stopped with work still in flight; it resumes on the next start');
  return stoppedExitCode(stopping.reason);
}

/**
 * On SIGUSR2, logs the process's memory (`process.memoryUsage()`, bytes) and the heap's limit
 * (`heapSizeLimit`, the budget of heap-budget.ts) at info level, after a full garbage collection
 * when node runs with --expose-gc: how an operator (or the benchmark) sees the heap of a running
 * daemon. Returns a function that removes the listener.
 */
export function onMemoryReportSignal(logger: Logger): () => void {
  const report = () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const { rss, heapTotal, heapUsed, external, arrayBuffers } = process.memoryUsage();
    const heapSizeLimit = getHeapStatistics().heap_size_limit;
    const afterGc = gc !== undefined;
    logger.info({ rss, heapTotal, heapUsed, external, arrayBuffers, heapSizeLimit, afterGc }, 'memory usage');
  };
  process.on('SIGUSR2', report);
  return () => process.off('SIGUSR2', report);
}

/** The one-line summary of `reconcile --once`. */
export function formatSummary(summary: OnceSummary): string {
  const seconds = (summary.elapsedMs / 1000).toFixed(1);
  const counts = `${summary.ready} ready, ${summary.failed} failed, ${summary.skipped} skipped, ${summary.orphansDeleted} orphan apps deleted in ${seconds} s`;
  return summary.abortedBy
    ? `reconcile --once stopped early (${summary.abortedBy}): ${counts}`
    : `reconcile --once: ${counts}`;
}
