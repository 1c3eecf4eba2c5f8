/**
 * Time-to-link: tasks arrive one by one at a steady rate below capacity (so nothing queues for
 * a create slot), and for each we measure from the server acknowledging the task to the moment
 * a subscriber sees it linked to a ready record.
 */
import { InlineProvisioner } from './baseline.js';
import type { DaemonProcess, SandboxProcess } from './processes.js';
import { ProcSampler } from './proc-stats.js';
import { startDaemon, startSandbox } from './setup.js';
import { percentiles, round1, round2, toMb, type Percentiles } from './stats.js';
import {
  connect,
  countLinksOf,
  createTasksSteadily,
  LinkObserver,
  now,
  sleep,
  waitUntilFinished,
  type BenchDb,
} from './workload.js';

export interface TimeToLinkSettings {
  tasks: number;
  /** Arrivals per second. */
  rate: number;
  latencyMs: number;
  concurrency: number;
  window: number;
  workDir: string;
  /** Extra node flags for the daemon. */
  nodeArgs: string[];
  /** Sandbox fault flags, e.g. `--p-lost 0.1`. */
  faultArgs?: string[];
  /** The daemon's `reconcile` arguments in full (default: C, W and info logs); see DaemonOptions. */
  daemonArgs?: string[];
  /** Fills the fresh sandbox before the daemon starts (e.g. an account with 100,000 apps). */
  seed?: (sandbox: SandboxProcess, db: BenchDb) => Promise<void>;
  /** Names the daemon's log file; default `time-to-link-<tasks>`. */
  name?: string;
}

/** What the daemon process cost, from its start to the last link. */
export interface DaemonCost {
  /** User + system CPU from process start to the last link (startup and first resync included). */
  cpuMs: number;
  /** Of which before both subscriptions were open (process start, SDK connection). */
  startupCpuMs: number;
  /** The kernel's peak RSS (VmHWM). */
  peakRssMb: number;
  /** Daemon start → the last link (ms). */
  wallMs: number;
  /** Sandbox CPU over the same interval, as a share of one core. */
  sandboxCpuShare: number;
  /** App listings the sandbox answered over the same interval (account or organisation). */
  platformListings: number;
}

export interface TimeToLinkResult {
  tasks: number;
  ratePerSecond: number;
  /** Task acknowledged → seen linked to a ready record (ms). */
  timeToLink: Percentiles;
  /** Links the observer's window missed (should be 0). */
  unseen: number;
  /** Every sample (ms, 0.1 ms resolution), for the chart. */
  samples: number[];
  /** The phase's tasks linked to a ready and to a failed record at the end. */
  ready: number;
  failed: number;
  /** The daemon subject only. */
  daemon?: DaemonCost;
}

export async function measureTimeToLink(
  subject: 'daemon' | 'inline',
  settings: TimeToLinkSettings,
): Promise<TimeToLinkResult> {
  const sandbox = await startSandbox(settings.latencyMs, settings.faultArgs);
  const db = connect(sandbox.env);
  let daemon: DaemonProcess | undefined;
  let observer: LinkObserver | undefined;
  try {
    await settings.seed?.(sandbox, db);
    const sandboxCpu = new ProcSampler(sandbox.pid, 1000);
    const sandboxBefore = sandboxCpu.sample();
    const listingsBefore = (await sandbox.stats()).lists ?? 0;
    const started = now();
    let daemonCpu: ProcSampler | undefined;
    let startupCpuMs = 0;
    if (subject === 'daemon') {
      daemon = await startDaemon(sandbox, {
        ...settings,
        name: settings.name ?? `time-to-link-${settings.tasks}`,
        ...(settings.daemonArgs ? { args: settings.daemonArgs } : {}),
      });
      daemonCpu = new ProcSampler(daemon.pid, 250);
      startupCpuMs = daemonCpu.sample().cpuMs;
    }
    const inline = subject === 'inline' ? new InlineProvisioner(db, sandbox.env, settings.concurrency) : undefined;
    observer = new LinkObserver(db);
    await observer.started();
    const created = new Map<string, number>();
    await createTasksSteadily(db, settings.tasks, settings.rate, (taskId, ackedAt) => {
      created.set(taskId, ackedAt);
      inline?.provision(taskId);
    });
    await inline?.drained();
    const lastLink = await waitUntilFinished(db, [...created.keys()], 20, 10 * 60_000);
    const cost = daemonCpu?.stop();
    const sandboxAfter = sandboxCpu.stop();
    const listings = ((await sandbox.stats()).lists ?? 0) - listingsBefore;
    await sleep(250); // the last refreshes
    const samples: number[] = [];
    for (const [taskId, ackedAt] of created) {
      const seenAt = observer.seen.get(taskId);
      if (seenAt !== undefined) samples.push(round1(seenAt - ackedAt));
    }
    const links = await countLinksOf(db, [...created.keys()]);
    const wallMs = lastLink - started;
    return {
      tasks: settings.tasks,
      ratePerSecond: settings.rate,
      timeToLink: percentiles(samples),
      unseen: created.size - samples.length,
      samples,
      ready: links.ready,
      failed: links.failed,
      ...(cost
        ? {
            daemon: {
              cpuMs: Math.round(cost.cpuMs),
              startupCpuMs: Math.round(startupCpuMs),
              peakRssMb: toMb(cost.peakRssBytes),
              wallMs: Math.round(wallMs),
              sandboxCpuShare: round2((sandboxAfter.cpuMs - sandboxBefore.cpuMs) / wallMs),
              platformListings: listings,
            },
          }
        : {}),
    };
  } finally {
    observer?.close();
    await daemon?.stop();
    await sandbox.stop();
  }
}
