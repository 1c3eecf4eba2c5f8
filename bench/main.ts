/**
 * `npm run bench [-- flags]`: the provisioning benchmark against the sandbox (see
 * bench/README.md). Progress goes to stderr, the Markdown table to stdout, and results.json and
 * time-to-link.svg to the output directory.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { measureSandboxCapacity } from './sandbox-capacity.js';
import { measureAccountSize } from './account-size.js';
import { measureBacklog } from './backlog.js';
import { measureCopy, type CopyBenchResult } from './copy.js';
import { measureMigrate, type MigrateBenchResult } from './migrate.js';
import { measureOnceBatch } from './once-batch.js';
import { parseOptions, USAGE, type BenchOptions } from './options.js';
import { repoRoot } from './processes.js';
import { copySection, formatMarkdown, migrateSection, statusLatencySection } from './report.js';
import {
  checkTargets,
  copyTargets,
  migrateTargets,
  statusLatencyTargets,
  type BenchResults,
  type Machine,
  type Target,
  type TimeToLinkSummary,
} from './results.js';
import { measureStatusLatency, type StatusLatencyResult } from './status-latency.js';
import { minus, round2 } from './stats.js';
import { cdfOf, chartRange, renderTimeToLinkSvg } from './svg.js';
import { measureThroughput } from './throughput.js';
import { measureTimeToLink, type TimeToLinkResult } from './time-to-link.js';

function progress(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

export function describeMachine(): Machine {
  const cpu = cpus();
  return {
    cores: cpu.length,
    model: cpu[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${release()} ${process.arch}`,
    date: new Date().toISOString(),
  };
}

export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const workDir = mkdtempSync(join(tmpdir(), 'instant-provisioner-bench-'));
  progress(`daemon logs in ${workDir}`);
  const common = {
    latencyMs: options.latencyMs,
    concurrency: options.concurrency,
    window: options.window,
    workDir,
    nodeArgs: options.daemonNodeArgs,
  };

  progress(`throughput, daemon: ${options.tasks} tasks, C = ${options.concurrency}, L = ${options.latencyMs} ms`);
  const daemonThroughput = await measureThroughput('daemon', { ...common, tasks: options.tasks });
  progress(`  ${(daemonThroughput.wallMs / 1000).toFixed(1)} s, efficiency ${daemonThroughput.efficiency}`);
  progress('throughput, inline baseline');
  const inlineThroughput = await measureThroughput('inline', { ...common, tasks: options.tasks });
  progress(`  ${(inlineThroughput.wallMs / 1000).toFixed(1)} s, efficiency ${inlineThroughput.efficiency}`);

  const ttl = { ...common, tasks: options.timeToLinkTasks, rate: options.rate };
  progress(`time-to-link, daemon: ${ttl.tasks} tasks at ${ttl.rate}/s`);
  const daemonTtl = await measureTimeToLink('daemon', ttl);
  progress(`  p50 ${daemonTtl.timeToLink.p50} ms, p99 ${daemonTtl.timeToLink.p99} ms`);
  progress('time-to-link, inline baseline');
  const inlineTtl = await measureTimeToLink('inline', ttl);
  progress(`  p50 ${inlineTtl.timeToLink.p50} ms, p99 ${inlineTtl.timeToLink.p99} ms`);

  // Issue 11's workload: 15 tasks/s, L = 50 ms, one create in ten committed with its answer lost.
  const lost = { tasks: options.tasks <= 50 ? 30 : 300, rate: 15, latencyMs: 50, pLost: 0.1 };
  progress(
    `time-to-link with lost answers: ${lost.tasks} tasks at ${lost.rate}/s, L = ${lost.latencyMs} ms, p(lost) = ${lost.pLost}`,
  );
  const lostTtl = await measureTimeToLink('daemon', {
    ...common,
    tasks: lost.tasks,
    rate: lost.rate,
    latencyMs: lost.latencyMs,
    faultArgs: ['--p-lost', String(lost.pLost)],
  });
  progress(`  p50 ${lostTtl.timeToLink.p50} ms, p99 ${lostTtl.timeToLink.p99} ms`);

  // Issue 11's batch: N tasks waiting, `reconcile --once` at L = 100 ms, C = 16, the whole process counted.
  const batch = { tasks: options.tasks <= 50 ? 50 : 2_000, latencyMs: 100, concurrency: 16 };
  progress(`reconcile --once batch: ${batch.tasks} tasks, L = ${batch.latencyMs} ms, C = ${batch.concurrency}`);
  const onceBatch = [];
  for (const createPath of options.createPaths) {
    const result = await measureOnceBatch({ ...batch, createPath, workDir });
    onceBatch.push(result);
    progress(
      `  ${createPath}: ${result.cpuMsPerTask} ms CPU per task, ${result.transactsPerTask} transacts per task, ${result.wallMs} ms`,
    );
  }

  let accountSize = null;
  if (options.accountSizes) {
    // Issue 11's workload again, in accounts that already have many apps; the plain daemon.
    const sizes = options.accountSizes.map((size) => size.toLocaleString('en-US')).join(', ');
    progress(`account size: ${sizes} apps already provisioned; ${lost.tasks} new tasks at ${lost.rate}/s each`);
    accountSize = await measureAccountSize(
      {
        sizes: options.accountSizes,
        paths: options.createPaths,
        tasks: lost.tasks,
        rate: lost.rate,
        latencyMs: lost.latencyMs,
        pLost: lost.pLost,
        resyncIntervalMs: 20_000,
        repeats: options.accountRepeats,
        workDir,
      },
      progress,
    );
  }

  let backlog = null;
  if (options.backlog) {
    progress(`backlog: ${options.backlog.tasks} tasks, L = 0, C = ${options.backlog.concurrency}`);
    backlog = await measureBacklog({
      ...options.backlog,
      window: options.window,
      workDir,
      nodeArgs: options.daemonNodeArgs,
    });
    progress(
      `  first link after ${backlog.timeToFirstLinkMs} ms, drained in ${backlog.drainSeconds} s, peak RSS ${backlog.peakRssMb} MB`,
    );
  }
  let sandboxCapacity = null;
  if (options.capacity) {
    progress(`sandbox capacity: ${options.capacity.tasks} tasks, ${options.capacity.seconds} s`);
    sandboxCapacity = await measureSandboxCapacity(options.capacity);
    progress(`  ${sandboxCapacity.transactsPerSecond} transacts/s at ${sandboxCapacity.sandboxUtilization} busy`);
  }

  const copy = options.copy ? await runCopyPhase(options.copy, workDir) : null;
  const statusLatency = options.statusLatency ? await runStatusLatencyPhase(options.statusLatency) : null;
  const migrate = options.migrate ? await runMigratePhase(options.migrate, workDir) : null;

  const [from, to] = chartRange(daemonTtl.samples, inlineTtl.samples);
  const summary = (result: TimeToLinkResult): TimeToLinkSummary => ({
    timeToLink: result.timeToLink,
    overhead: minus(result.timeToLink, options.latencyMs),
    unseen: result.unseen,
    cdf: cdfOf(result.samples, from, to),
  });
  const ratio = (key: 'p50' | 'p95' | 'p99') => round2(daemonTtl.timeToLink[key] / inlineTtl.timeToLink[key]);
  const partial: Omit<BenchResults, 'targets'> = {
    machine: describeMachine(),
    parameters: {
      tasks: options.tasks,
      latencyMs: options.latencyMs,
      concurrency: options.concurrency,
      window: options.window,
      daemonNodeOptions: options.daemonNodeArgs.join(' '),
      timeToLink: { tasks: options.timeToLinkTasks, ratePerSecond: options.rate },
      backlog: options.backlog,
      capacity: options.capacity,
      accountSizes: options.accountSizes,
      createPaths: options.createPaths,
    },
    throughput: {
      daemon: daemonThroughput,
      inline: inlineThroughput,
      wallRatio: round2(daemonThroughput.wallMs / inlineThroughput.wallMs),
    },
    timeToLink: {
      daemon: summary(daemonTtl),
      inline: summary(inlineTtl),
      ratio: { p50: ratio('p50'), p95: ratio('p95'), p99: ratio('p99') },
    },
    lostAnswers: {
      tasks: lost.tasks,
      ratePerSecond: lost.rate,
      latencyMs: lost.latencyMs,
      pLost: lost.pLost,
      timeToLink: lostTtl.timeToLink,
    },
    onceBatch,
    accountSize,
    backlog,
    sandboxCapacity,
    copy,
    statusLatency,
    migrate,
  };
  return { ...partial, targets: checkTargets(partial) };
}

/** Issue 19's copy phase (bench/copy.ts). */
async function runCopyPhase(settings: NonNullable<BenchOptions['copy']>, workDir: string): Promise<CopyBenchResult> {
  const big = settings.bigEntities ? `, then ${settings.bigEntities.toLocaleString('en-US')} app → archive` : '';
  progress(`copy: ${settings.entities.toLocaleString('en-US')} entities app → app${big}`);
  const copy = await measureCopy({ ...settings, workDir }, progress);
  progress(`  ${copy.throughput.entitiesPerSecond} entities/s verified, peak RSS ${copy.throughput.peakRssMb} MB`);
  if (copy.memory)
    progress(`  ${copy.memory.entitiesPerSecond} entities/s verified, peak RSS ${copy.memory.peakRssMb} MB (big app)`);
  return copy;
}

/** Issue 19's migrate phase (bench/migrate.ts). */
async function runMigratePhase(
  settings: NonNullable<BenchOptions['migrate']>,
  workDir: string,
): Promise<MigrateBenchResult> {
  progress(
    `migrate: ${settings.apps} apps, C = ${settings.concurrency}, L = ${settings.latencyMs} ms, against as many creates`,
  );
  const migrate = await measureMigrate({ ...settings, workDir }, progress);
  progress(
    `  creates ${(migrate.createsWallMs / 1000).toFixed(1)} s, migrate ${(migrate.migrateWallMs / 1000).toFixed(1)} s: ${migrate.ratio}×`,
  );
  return migrate;
}

/** `--only-migrate`: the migrate phase alone; its results go to migrate-results.json. */
async function runOnlyMigrate(options: BenchOptions): Promise<void> {
  if (!options.migrate) throw new Error('--only-migrate and --skip-migrate contradict each other');
  const workDir = mkdtempSync(join(tmpdir(), 'instant-provisioner-bench-'));
  const migrate = await runMigratePhase(options.migrate, workDir);
  const targets = migrateTargets(migrate);
  writeOnly(
    options.outDir,
    'migrate-results.json',
    { machine: describeMachine(), migrate, targets },
    migrateSection(migrate),
    targets,
  );
}

/** Issue 20's phase (bench/status-latency.ts). */
async function runStatusLatencyPhase(
  settings: NonNullable<BenchOptions['statusLatency']>,
): Promise<StatusLatencyResult> {
  progress(
    `status to browsers: ${settings.clients} subscribed sessions, ${settings.writes} writes at ${settings.ratePerSecond}/s`,
  );
  const result = await measureStatusLatency(settings, progress);
  progress(
    `  p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.missed} missed; ` +
      `sandbox ${(result.idle.sandboxCpuShare * 100).toFixed(1)}% of a core idle`,
  );
  return result;
}

/** `--only-status-latency`: that phase alone; its results go to status-latency-results.json. */
async function runOnlyStatusLatency(options: BenchOptions): Promise<void> {
  if (!options.statusLatency) throw new Error('--only-status-latency and --skip-status-latency contradict each other');
  const statusLatency = await runStatusLatencyPhase(options.statusLatency);
  const targets = statusLatencyTargets(statusLatency);
  writeOnly(
    options.outDir,
    'status-latency-results.json',
    { machine: describeMachine(), statusLatency, targets },
    [...statusLatencySection(statusLatency)],
    targets,
  );
}

/** Writes one phase's results as JSON and its section and targets as Markdown on stdout. */
function writeOnly(outDir: string, file: string, json: unknown, section: string[], targets: Target[]): void {
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, file);
  writeFileSync(path, JSON.stringify(json, null, 2) + '\n');
  const lines = [...section, '', '| target | goal | measured | |', '|---|---|---|---|'];
  for (const target of targets)
    lines.push(`| ${target.name} | ${target.target} | ${target.measured} | ${target.met ? 'met' : '**missed**'} |`);
  process.stdout.write(lines.join('\n') + '\n');
  progress(`wrote ${path}`);
}

/** `--only-copy`: the copy phase alone; its results go to copy-results.json. */
async function runOnlyCopy(options: BenchOptions): Promise<void> {
  if (!options.copy) throw new Error('--only-copy and --skip-copy contradict each other');
  const workDir = mkdtempSync(join(tmpdir(), 'instant-provisioner-bench-'));
  const copy = await runCopyPhase(options.copy, workDir);
  const targets = copyTargets(copy);
  writeOnly(
    options.outDir,
    'copy-results.json',
    { machine: describeMachine(), copy, targets },
    copySection(copy),
    targets,
  );
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2), join(repoRoot(), 'bench'));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (options.onlyCopy) {
    await runOnlyCopy(options);
    return 0;
  }
  if (options.onlyStatusLatency) {
    await runOnlyStatusLatency(options);
    return 0;
  }
  if (options.onlyMigrate) {
    await runOnlyMigrate(options);
    return 0;
  }
  const results = await runBench(options);
  mkdirSync(options.outDir, { recursive: true });
  writeFileSync(join(options.outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(options.outDir, 'time-to-link.svg'), renderTimeToLinkSvg(results));
  process.stdout.write(formatMarkdown(results));
  progress(`wrote ${join(options.outDir, 'results.json')} and ${join(options.outDir, 'time-to-link.svg')}`);
  return 0;
}

// Ctrl-C: exit, so the 'exit' hook in processes.ts stops the sandbox and the daemon.
process.once('SIGINT', () => process.exit(130));
// Open sockets (SDK keep-alive) must not keep a finished run alive.
process.exit(await main());
