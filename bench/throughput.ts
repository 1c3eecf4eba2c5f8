/**
 * Throughput: all N tasks are created up front (in batches, as an import would), and the wall
 * time runs from the first batch acknowledged to the last task linked to a ready record. The
 * Platform API allows at most C creates of L ms at a time, so N·L/C is the shortest possible
 * wall time, and efficiency is that divided by the measured one.
 */
import { InlineProvisioner } from './baseline.js';
import { ProcSampler } from './proc-stats.js';
import { startDaemon, startSandbox } from './setup.js';
import { round2, toMb } from './stats.js';
import { connect, countLinks, createTaskBatches, waitUntilAllLinked } from './workload.js';

export interface ThroughputSettings {
  tasks: number;
  latencyMs: number;
  concurrency: number;
  window: number;
  workDir: string;
  /** Extra node flags for the daemon. */
  nodeArgs: string[];
}

export interface ThroughputResult {
  tasks: number;
  wallMs: number;
  tasksPerMinute: number;
  /** (N · L / C) / wall time; 1.0 is the limit the API sets. */
  efficiency: number;
  ready: number;
  failed: number;
  /**
   * CPU of this (the benchmark) process per task: task creation and polling, plus, in the inline
   * run, the provisioning itself.
   */
  clientCpuMsPerTask: number;
  /** CPU the sandbox used during the phase, as a share of one core. */
  sandboxCpuShare: number;
  /** Successful transacts the sandbox served during the phase (task creation included) per task. */
  transactsPerTask: number;
  /** Daemon runs only. */
  daemon?: { peakRssMb: number; cpuMsPerTask: number; cpuShare: number };
}

const BATCH = 500;

export async function measureThroughput(
  subject: 'daemon' | 'inline',
  settings: ThroughputSettings,
): Promise<ThroughputResult> {
  const sandbox = await startSandbox(settings.latencyMs);
  const db = connect(sandbox.env);
  const daemon =
    subject === 'daemon'
      ? await startDaemon(sandbox, { ...settings, name: `throughput-${settings.tasks}` })
      : undefined;
  const inline = subject === 'inline' ? new InlineProvisioner(db, sandbox.env, settings.concurrency) : undefined;
  const sandboxCpu = new ProcSampler(sandbox.pid);
  const daemonCpu = daemon ? new ProcSampler(daemon.pid) : undefined;
  try {
    const sandboxBefore = sandboxCpu.sample();
    const daemonBefore = daemonCpu?.sample();
    const clientBefore = process.cpuUsage();
    const transactsBefore = (await sandbox.stats())['transacts'] ?? 0;
    let firstAck = 0;
    await createTaskBatches(db, settings.tasks, BATCH, (ids, ackedAt) => {
      firstAck ||= ackedAt;
      for (const taskId of ids) inline?.provision(taskId);
    });
    await inline?.drained();
    const lastLink = await waitUntilAllLinked(db, 20, 30 * 60_000);
    const wallMs = lastLink - firstAck;
    const client = process.cpuUsage(clientBefore);
    const sandboxAfter = sandboxCpu.stop();
    const daemonAfter = daemonCpu?.stop();
    const transacts = ((await sandbox.stats())['transacts'] ?? 0) - transactsBefore;
    const links = await countLinks(db);
    const ideal = (settings.tasks * settings.latencyMs) / settings.concurrency;
    return {
      tasks: settings.tasks,
      wallMs: Math.round(wallMs),
      tasksPerMinute: Math.round((settings.tasks * 60_000) / wallMs),
      efficiency: round2(ideal / wallMs),
      ready: links.ready,
      failed: links.failed,
      clientCpuMsPerTask: round2((client.user + client.system) / 1000 / settings.tasks),
      sandboxCpuShare: round2((sandboxAfter.cpuMs - sandboxBefore.cpuMs) / wallMs),
      transactsPerTask: round2(transacts / settings.tasks),
      ...(daemonAfter && daemonBefore
        ? {
            daemon: {
              peakRssMb: toMb(daemonAfter.peakRssBytes),
              cpuMsPerTask: round2((daemonAfter.cpuMs - daemonBefore.cpuMs) / settings.tasks),
              cpuShare: round2((daemonAfter.cpuMs - daemonBefore.cpuMs) / wallMs),
            },
          }
        : {}),
    };
  } finally {
    sandboxCpu.stop();
    daemonCpu?.stop();
    await daemon?.stop();
    await sandbox.stop();
  }
}
