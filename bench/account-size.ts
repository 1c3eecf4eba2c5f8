/**
 * Account size (issue 11): the same workload against an empty account and against accounts
 * that already have 50,000 and 100,000 provisioned tasks (apps, ready records, linked tasks;
 * see seed-account.ts), to see which of the daemon's costs grow with the account.
 *
 * Each size runs `repeats` times per create path (issue 18), the sizes interleaved so that a
 * slow minute of this shared machine does not land on one size; each figure is the median of its
 * runs (one 20-second run is noisy: the chosen path's CPU ratio, which nothing grows, ranged
 * 0.92–1.23 over single runs). The paths: `chosen-id` against a sandbox answering as a
 * self-hosted server does, `server-id` against one answering as Instant Cloud does today
 * (`sandbox --cloud`: chosen ids refused, so the daemon finds lost answers by listing apps). Each
 * run gets a fresh sandbox, seeded before the daemon starts; the daemon runs as an operator would
 * start it, `node dist/src/cli/main.js reconcile` with no node flags and the defaults (so
 * `--create-via auto` picks the path from the server), plus `--resync-interval 20000`. The
 * time-to-link observer and the final count read only the newest tasks, so the benchmark's own
 * reads do not grow with the account.
 */
import type { CreatePath } from '../src/core/types.js';
import { seedAccount } from './seed-account.js';
import { median, round1, round2, type Percentiles } from './stats.js';
import { measureTimeToLink } from './time-to-link.js';

export interface AccountSizeSettings {
  /** Apps (and tasks) already provisioned, per run; the first is the reference (0). */
  sizes: number[];
  /** The create paths, each run at every size. */
  paths: CreatePath[];
  tasks: number;
  /** Arrivals per second. */
  rate: number;
  latencyMs: number;
  /** Share of creates committed with their answer lost (`--p-lost`). */
  pLost: number;
  resyncIntervalMs: number;
  /** Runs per path and size; the figures are their medians. */
  repeats: number;
  workDir: string;
}

export interface AccountSizeRun {
  createPath: CreatePath;
  seededApps: number;
  /** Seeding the sandbox and the main app (before the daemon starts). */
  seedSeconds: number;
  ready: number;
  failed: number;
  /** Daemon CPU from process start to the last link, ÷ new tasks. */
  cpuMsPerTask: number;
  /** Of the same, the part before its subscriptions were open, ÷ new tasks. */
  startupCpuMsPerTask: number;
  peakRssMb: number;
  timeToLink: Percentiles;
  unseen: number;
  /** Daemon start → last link. */
  wallSeconds: number;
  /** Sandbox CPU over the same interval (share of one core). */
  sandboxCpuShare: number;
  /** App listings the daemon asked for over the same interval. */
  platformListings: number;
  /** Runs behind these figures (each figure is the median of its runs). */
  samples: number;
  /** Each run's CPU per new task and time-to-link p99, in the order run. */
  cpuMsPerTaskSamples: number[];
  p99Samples: number[];
  /** This run ÷ the reference run of its path (1 for the reference itself). */
  ratio: { cpuPerTask: number; peakRss: number; p50: number; p99: number };
}

type OneRun = Omit<AccountSizeRun, 'ratio' | 'samples' | 'cpuMsPerTaskSamples' | 'p99Samples'>;

export interface AccountSizeResult {
  tasks: number;
  ratePerSecond: number;
  latencyMs: number;
  pLost: number;
  resyncIntervalMs: number;
  repeats: number;
  runs: AccountSizeRun[];
}

/** Runs the workload `repeats` times per path and size, sizes interleaved; `progress` hears each run. */
export async function measureAccountSize(
  settings: AccountSizeSettings,
  progress: (line: string) => void = () => {},
): Promise<AccountSizeResult> {
  const runs: AccountSizeRun[] = [];
  for (const path of settings.paths) {
    const bySize = settings.sizes.map((): OneRun[] => []);
    for (let repeat = 0; repeat < settings.repeats; repeat++)
      for (const [i, size] of settings.sizes.entries())
        bySize[i]!.push(await measureOne(settings, path, size, progress));
    runs.push(...withRatios(bySize.map(medianRun)));
  }
  return {
    tasks: settings.tasks,
    ratePerSecond: settings.rate,
    latencyMs: settings.latencyMs,
    pLost: settings.pLost,
    resyncIntervalMs: settings.resyncIntervalMs,
    repeats: settings.repeats,
    runs,
  };
}

/** One size's runs as one: each figure the median of its runs; ready the fewest, failed the most. */
function medianRun(samples: OneRun[]): Omit<AccountSizeRun, 'ratio'> {
  const first = samples[0]!;
  const med = (figure: (run: OneRun) => number) => median(samples.map(figure));
  const most = (figure: (run: OneRun) => number) => Math.max(...samples.map(figure));
  return {
    createPath: first.createPath,
    seededApps: first.seededApps,
    seedSeconds: round2(med((run) => run.seedSeconds)),
    ready: Math.min(...samples.map((run) => run.ready)),
    failed: most((run) => run.failed),
    cpuMsPerTask: round2(med((run) => run.cpuMsPerTask)),
    startupCpuMsPerTask: round2(med((run) => run.startupCpuMsPerTask)),
    peakRssMb: round1(med((run) => run.peakRssMb)),
    timeToLink: {
      count: first.timeToLink.count,
      p50: round1(med((run) => run.timeToLink.p50)),
      p95: round1(med((run) => run.timeToLink.p95)),
      p99: round1(med((run) => run.timeToLink.p99)),
      max: most((run) => run.timeToLink.max),
    },
    unseen: most((run) => run.unseen),
    wallSeconds: round1(med((run) => run.wallSeconds)),
    sandboxCpuShare: round2(med((run) => run.sandboxCpuShare)),
    platformListings: Math.round(med((run) => run.platformListings)),
    samples: samples.length,
    cpuMsPerTaskSamples: samples.map((run) => run.cpuMsPerTask),
    p99Samples: samples.map((run) => run.timeToLink.p99),
  };
}

async function measureOne(
  settings: AccountSizeSettings,
  path: CreatePath,
  size: number,
  progress: (line: string) => void,
): Promise<OneRun> {
  let seedMs = 0;
  const result = await measureTimeToLink('daemon', {
    tasks: settings.tasks,
    rate: settings.rate,
    latencyMs: settings.latencyMs,
    concurrency: 0, // unused: daemonArgs replaces the flags
    window: 0,
    workDir: settings.workDir,
    nodeArgs: [],
    faultArgs: ['--p-lost', String(settings.pLost), ...(path === 'server-id' ? ['--cloud'] : [])],
    daemonArgs: ['--resync-interval', String(settings.resyncIntervalMs)],
    name: `account-size-${path}-${size}`,
    seed: async (sandbox, db) => {
      if (size > 0) seedMs = await seedAccount(sandbox, db, size, path);
    },
  });
  const cost = result.daemon!;
  const run = {
    createPath: path,
    seededApps: size,
    seedSeconds: round1(seedMs / 1000),
    ready: result.ready,
    failed: result.failed,
    cpuMsPerTask: round2(cost.cpuMs / settings.tasks),
    startupCpuMsPerTask: round2(cost.startupCpuMs / settings.tasks),
    peakRssMb: cost.peakRssMb,
    timeToLink: result.timeToLink,
    unseen: result.unseen,
    wallSeconds: round1(cost.wallMs / 1000),
    sandboxCpuShare: cost.sandboxCpuShare,
    platformListings: cost.platformListings,
  };
  progress(
    `  ${path}, ${size.toLocaleString('en-US')} apps (seeded in ${run.seedSeconds} s): ${run.cpuMsPerTask} ms CPU per task, ` +
      `peak RSS ${run.peakRssMb} MB, p50 ${run.timeToLink.p50} ms, p99 ${run.timeToLink.p99} ms, ` +
      `${run.platformListings} listings, sandbox ${run.sandboxCpuShare}`,
  );
  return run;
}

/** Each run against the first (the empty account) of the same path. */
function withRatios(runs: Omit<AccountSizeRun, 'ratio'>[]): AccountSizeRun[] {
  const reference = runs[0]!;
  const ratio = (value: number, of: number) => round2(value / Math.max(of, Number.MIN_VALUE));
  return runs.map((run) => ({
    ...run,
    ratio: {
      cpuPerTask: ratio(run.cpuMsPerTask, reference.cpuMsPerTask),
      peakRss: ratio(run.peakRssMb, reference.peakRssMb),
      p50: ratio(run.timeToLink.p50, reference.timeToLink.p50),
      p99: ratio(run.timeToLink.p99, reference.timeToLink.p99),
    },
  }));
}
