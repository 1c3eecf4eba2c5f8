/**
 * Backlog: `tasks` unlinked tasks exist before the daemon starts. With the create latency at 0
 * and a high concurrency, the sandbox and our own overhead are what is measured: the daemon's
 * peak RSS, the time from its start to the first link, its drain rate, and its heap (after a
 * full GC, via SIGUSR2) once 10% and once all of the backlog is provisioned.
 */
import type { DaemonProcess, SandboxProcess } from './processes.js';
import { ProcSampler } from './proc-stats.js';
import { startDaemon, startSandbox } from './setup.js';
import { round1, round2, toMb } from './stats.js';
import { connect, countLinks, createTaskBatches, now, sleep, waitUntilAllLinked, type BenchDb } from './workload.js';

export interface BacklogSettings {
  tasks: number;
  concurrency: number;
  window: number;
  workDir: string;
  /** Extra node flags for the daemon. */
  nodeArgs: string[];
}

export interface HeapReport {
  /** Tasks provisioned when the report was taken. */
  provisioned: number;
  heapUsedMb: number;
  heapTotalMb: number;
  rssMb: number;
}

export interface BacklogResult {
  tasks: number;
  concurrency: number;
  /** How long creating the backlog took (batches of 1,000). */
  seedSeconds: number;
  /** Daemon process start → a task linked to a ready record, as a poll of the main app sees it. */
  timeToFirstLinkMs: number;
  drainSeconds: number;
  tasksPerSecond: number;
  ready: number;
  failed: number;
  peakRssMb: number;
  cpuMsPerTask: number;
  /** Heap after a full GC at 10% of the backlog (at least 10 tasks) and at the end. */
  heapAtTenth: HeapReport;
  heapAtEnd: HeapReport;
  /** heapAtEnd.heapUsed / heapAtTenth.heapUsed. */
  heapGrowth: number;
  sandboxCpuShare: number;
}

const BATCH = 1_000;

/** Runs the phase; `afterDrain` may use the sandbox (100k tasks, all linked) before it stops. */
export async function measureBacklog(
  settings: BacklogSettings,
  afterDrain: (sandbox: SandboxProcess, db: BenchDb) => Promise<void> = async () => {},
): Promise<BacklogResult> {
  const sandbox = await startSandbox(0);
  const db = connect(sandbox.env);
  let daemon: DaemonProcess | undefined;
  try {
    const seedStarted = now();
    await createTaskBatches(db, settings.tasks, BATCH);
    const seedSeconds = (now() - seedStarted) / 1000;

    const started = now();
    daemon = await startDaemon(sandbox, { ...settings, name: `backlog-${settings.tasks}`, exposeGc: true });
    const daemonCpu = new ProcSampler(daemon.pid, 100);
    const sandboxCpu = new ProcSampler(sandbox.pid, 1000);
    const sandboxBefore = sandboxCpu.sample();
    const firstLink = await waitForFirstReady(db);

    const tenth = Math.max(10, Math.round(settings.tasks / 10));
    while (((await sandbox.stats()).creates ?? 0) < tenth) await sleep(50);
    const heapAtTenth = await heapReport(daemon, sandbox);

    const drained = await waitUntilAllLinked(db, 250, 60 * 60_000);
    const drainMs = drained - started;
    const heapAtEnd = await heapReport(daemon, sandbox);
    const cpu = daemonCpu.stop();
    const sandboxAfter = sandboxCpu.stop();
    const links = await countLinks(db);
    await daemon.stop();
    daemon = undefined;
    await afterDrain(sandbox, db);
    return {
      tasks: settings.tasks,
      concurrency: settings.concurrency,
      seedSeconds: round1(seedSeconds),
      timeToFirstLinkMs: Math.round(firstLink - started),
      drainSeconds: round1(drainMs / 1000),
      tasksPerSecond: Math.round((settings.tasks * 1000) / drainMs),
      ready: links.ready,
      failed: links.failed,
      peakRssMb: toMb(cpu.peakRssBytes),
      cpuMsPerTask: round2(cpu.cpuMs / settings.tasks),
      heapAtTenth,
      heapAtEnd,
      heapGrowth: round2(heapAtEnd.heapUsedMb / heapAtTenth.heapUsedMb),
      sandboxCpuShare: round2((sandboxAfter.cpuMs - sandboxBefore.cpuMs) / drainMs),
    };
  } finally {
    await daemon?.stop();
    await sandbox.stop();
  }
}

/** Polls for the first ready record; cheap while there are none (the status index is empty). */
async function waitForFirstReady(db: BenchDb): Promise<number> {
  for (;;) {
    const { databases } = await db.query({ databases: { $: { where: { status: 'ready' }, limit: 1 } } });
    if (databases.length > 0) return now();
    await sleep(5);
  }
}

/** Sends SIGUSR2 and reads the daemon's 'memory usage' log line. */
async function heapReport(daemon: DaemonProcess, sandbox: SandboxProcess): Promise<HeapReport> {
  const before = daemon.entries('memory usage').length;
  const provisioned = (await sandbox.stats()).creates ?? 0;
  daemon.signal('SIGUSR2');
  for (let waited = 0; ; waited += 50) {
    const entries = daemon.entries('memory usage');
    const entry = entries[before];
    if (entry) {
      const mb = (key: string) => toMb(Number(entry[key]));
      return { provisioned, heapUsedMb: mb('heapUsed'), heapTotalMb: mb('heapTotal'), rssMb: mb('rss') };
    }
    if (waited > 60_000) throw new Error('the daemon did not report its memory within 60 s of SIGUSR2');
    await sleep(50);
  }
}
