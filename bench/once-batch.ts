/**
 * A `reconcile --once` batch, counted whole: N tasks already waiting, the built CLI started,
 * run to its exit. CPU is the process's own user + system time from start to exit (bash's
 * `times` reports it for finished children), so startup, SDK connection and the final sweep
 * all count, as they would for an operator's backfill. On the `server-id` path the sandbox
 * answers as Instant Cloud does today (`--cloud`), and the daemon picks its path itself.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { cliPath } from './processes.js';
import type { CreatePath } from '../src/core/types.js';
import { startSandbox } from './setup.js';
import { connect, countLinks, createTaskBatches, now } from './workload.js';

export interface OnceBatchSettings {
  createPath: CreatePath;
  tasks: number;
  latencyMs: number;
  concurrency: number;
  workDir: string;
}

export interface OnceBatchResult {
  createPath: CreatePath;
  tasks: number;
  ready: number;
  wallMs: number;
  cpuMs: number;
  cpuMsPerTask: number;
  /** Sandbox transacts during the run ÷ tasks: the daemon's writes to the main app per task. */
  transactsPerTask: number;
}

export async function measureOnceBatch(settings: OnceBatchSettings): Promise<OnceBatchResult> {
  const sandbox = await startSandbox(settings.latencyMs, settings.createPath === 'server-id' ? ['--cloud'] : []);
  const db = connect(sandbox.env);
  try {
    await createTaskBatches(db, settings.tasks, 250);
    const transactsBefore = (await sandbox.stats()).transacts ?? 0;
    const log = join(settings.workDir, `once-${settings.createPath}-${settings.tasks}.log`);
    const startedAt = now();
    const script = `"$0" "$1" reconcile --once --concurrency "$2" > "$3" 2>&1; code=$?; times; exit $code`;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        'bash',
        ['-c', script, process.execPath, cliPath(), String(settings.concurrency), log],
        { env: { PATH: process.env.PATH ?? '', ...sandbox.env, LOG_FORMAT: 'json' }, timeout: 30 * 60_000 },
        (error, out) =>
          error ? reject(new Error(`reconcile --once failed (${error.message}); see ${log}`)) : resolve(out),
      ),
    );
    const wallMs = now() - startedAt;
    const cpuMs = childrenCpuMs(stdout);
    const transacts = ((await sandbox.stats()).transacts ?? 0) - transactsBefore;
    const { ready } = await countLinks(db);
    return {
      createPath: settings.createPath,
      tasks: settings.tasks,
      ready,
      wallMs: Math.round(wallMs),
      cpuMs: Math.round(cpuMs),
      cpuMsPerTask: Math.round((cpuMs / settings.tasks) * 100) / 100,
      transactsPerTask: Math.round((transacts / settings.tasks) * 100) / 100,
    };
  } finally {
    await sandbox.stop();
  }
}

/** bash's `times`: the shell's user/sys, then its finished children's (`0m1.234s 0m0.321s`). */
export function childrenCpuMs(timesOutput: string): number {
  const lines = timesOutput.trim().split('\n');
  const children = lines.at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (seconds.length !== 2) throw new Error(`cannot read bash's times output: ${JSON.stringify(timesOutput)}`);
  return (seconds[0]! + seconds[1]!) * 1000;
}
