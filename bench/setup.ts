/** Starting a phase's processes: a fresh sandbox, and the daemon once it is watching. */
import { join } from 'node:path';
import { spawnDaemon, spawnSandbox, type DaemonProcess, type SandboxProcess } from './processes.js';
import { now, sleep } from './workload.js';

/** A fresh sandbox whose every Platform create takes `latencyMs`, with any further fault flags. */
export function startSandbox(latencyMs: number, faultArgs: string[] = []): Promise<SandboxProcess> {
  return spawnSandbox(['--create-latency', `fixed:${latencyMs}`, ...faultArgs]);
}

export interface DaemonOptions {
  concurrency: number;
  window: number;
  /** Directory for the daemon's log file. */
  workDir: string;
  name: string;
  /** Run node with --expose-gc, so a SIGUSR2 memory report follows a full collection. */
  exposeGc?: boolean;
  /** Extra node flags for the daemon (e.g. --max-old-space-size=128). */
  nodeArgs?: string[];
  /**
   * The `reconcile` arguments in full, instead of `--concurrency C --window W --log-level info`
   * (e.g. only `--resync-interval 20000`: the defaults an operator gets).
   */
  args?: string[];
}

/**
 * Starts the daemon as the built CLI (JSON logs at the default level, info) and resolves once
 * its four live queries are open, so the phase measures work, not startup.
 */
export async function startDaemon(sandbox: SandboxProcess, options: DaemonOptions): Promise<DaemonProcess> {
  const before = (await sandbox.stats()).openSubscriptions ?? 0;
  const daemon = spawnDaemon({
    env: sandbox.env,
    args: options.args ?? [
      '--concurrency',
      String(options.concurrency),
      '--window',
      String(options.window),
      '--log-level',
      'info',
    ],
    logFile: join(options.workDir, `${options.name}.log`),
    nodeArgs: [...(options.exposeGc ? ['--expose-gc'] : []), ...(options.nodeArgs ?? [])],
    watch: ['memory usage'],
  });
  await waitForSubscriptions(sandbox, before + 4, 30_000);
  return daemon;
}

/** Polls the sandbox until `count` subscriptions are open. */
export async function waitForSubscriptions(sandbox: SandboxProcess, count: number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  while (((await sandbox.stats()).openSubscriptions ?? 0) < count) {
    if (now() > deadline) throw new Error(`fewer than ${count} subscriptions open after ${timeoutMs} ms`);
    await sleep(20);
  }
}
