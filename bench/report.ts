/** The Markdown report of a benchmark run (printed on stdout, pasted into the README). */
import type { AccountSizeResult, AccountSizeRun } from './account-size.js';
import type { CopyBenchResult } from './copy.js';
import type { StatusLatencyResult } from './status-latency.js';
import type { MigrateBenchResult } from './migrate.js';
import type { BenchResults } from './results.js';
import type { Percentiles } from './stats.js';

export function formatMarkdown(r: BenchResults): string {
  const { machine: m, parameters: p, throughput: t, timeToLink: l, backlog: b, sandboxCapacity: s } = r;
  const daemon = t.daemon.daemon;
  const lines: string[] = [
    `Machine: ${m.cores} cores (${m.model}), ${m.memoryGb} GB, Node ${m.node}, ${m.platform}; ${m.date}.`,
    `Sandbox, daemon (built CLI, JSON logs at info${p.daemonNodeOptions ? `, node ${p.daemonNodeOptions}` : ''}) and benchmark driver are separate processes on loopback.`,
    '',
    `**Throughput** — N = ${n(p.tasks)} tasks created up front, C = ${p.concurrency}, L = ${p.latencyMs} ms ` +
      `(limit N·L/C = ${seconds((p.tasks * p.latencyMs) / p.concurrency)}). ` +
      `**Time-to-link** — ${n(p.timeToLink.tasks)} tasks arriving one by one at ${p.timeToLink.ratePerSecond}/s ` +
      `(${Math.round(((p.timeToLink.ratePerSecond * p.latencyMs) / 1000 / p.concurrency) * 100)}% of C/L).`,
    '',
    '| | daemon | inline baseline | daemon ÷ inline |',
    '|---|---:|---:|---:|',
    `| wall time, first task → last link | ${seconds(t.daemon.wallMs)} | ${seconds(t.inline.wallMs)} | ${t.wallRatio.toFixed(2)} |`,
    `| tasks per minute | ${n(t.daemon.tasksPerMinute)} | ${n(t.inline.tasksPerMinute)} | ${(t.daemon.tasksPerMinute / t.inline.tasksPerMinute).toFixed(2)} |`,
    `| throughput efficiency (1.0 = the API's limit) | ${t.daemon.efficiency.toFixed(2)} | ${t.inline.efficiency.toFixed(2)} | |`,
    `| time-to-link p50 / p95 / p99 | ${pct(l.daemon.timeToLink)} | ${pct(l.inline.timeToLink)} | ${l.ratio.p50.toFixed(2)} / ${l.ratio.p95.toFixed(2)} / ${l.ratio.p99.toFixed(2)} |`,
    `| … minus L (overhead) p50 / p95 / p99 | ${pct(l.daemon.overhead)} | ${pct(l.inline.overhead)} | |`,
    `| CPU per task | ${daemon ? `${daemon.cpuMsPerTask} ms (daemon process)` : '–'} | ${t.inline.clientCpuMsPerTask} ms (caller process) | |`,
    `| peak RSS | ${daemon ? `${daemon.peakRssMb} MB` : '–'} | | |`,
    `| sandbox CPU (share of one core) | ${t.daemon.sandboxCpuShare} | ${t.inline.sandboxCpuShare} | |`,
    `| transacts per task (task creation included) | ${t.daemon.transactsPerTask} | ${t.inline.transactsPerTask} | |`,
    `| linked ready / failed | ${n(t.daemon.ready)} / ${t.daemon.failed} | ${n(t.inline.ready)} / ${t.inline.failed} | |`,
  ];
  if (l.daemon.unseen + l.inline.unseen > 0)
    lines.push('', `The observer missed ${l.daemon.unseen} (daemon) and ${l.inline.unseen} (inline) links.`);
  if (r.accountSize) lines.push('', ...accountSizeTable(r.accountSize));
  if (b) {
    lines.push(
      '',
      `**Backlog** — ${n(b.tasks)} unlinked tasks before the daemon starts; L = 0, C = ${b.concurrency}.`,
      '',
      '| | |',
      '|---|---:|',
      `| daemon start → first link | ${b.timeToFirstLinkMs} ms |`,
      `| drain time (daemon start → last link) | ${b.drainSeconds} s (${n(b.tasksPerSecond)} tasks/s) |`,
      `| daemon peak RSS | ${b.peakRssMb} MB |`,
      `| daemon CPU per task | ${b.cpuMsPerTask} ms |`,
      `| heap used after full GC: at ${n(b.heapAtTenth.provisioned)} / at ${n(b.heapAtEnd.provisioned)} | ${b.heapAtTenth.heapUsedMb} MB / ${b.heapAtEnd.heapUsedMb} MB (×${b.heapGrowth}) |`,
      `| heap total (V8's reservation) at the same points | ${b.heapAtTenth.heapTotalMb} MB / ${b.heapAtEnd.heapTotalMb} MB |`,
      `| sandbox CPU (share of one core) | ${b.sandboxCpuShare} |`,
      `| linked ready / failed | ${n(b.ready)} / ${b.failed} |`,
    );
  }
  if (s) {
    lines.push(
      '',
      `**Sandbox capacity** — ${n(s.tasks)} tasks, the daemon's four live queries, ${s.concurrency} clients ` +
        `doing the daemon's claim → read → fenced update cycle for ${s.seconds} s (sandbox on ${s.sandboxThread === 'worker' ? 'its own thread' : 'the client thread'}).`,
      '',
      '| transacts/s | queries/s | sandbox busy | transacts/s at 100% busy | transact p50 / p99 |',
      '|---:|---:|---:|---:|---:|',
      `| ${n(s.transactsPerSecond)} | ${n(s.queriesPerSecond)} | ${Math.round(s.sandboxUtilization * 100)}% | ` +
        `${n(Math.round(s.transactsPerSecond / Math.max(s.sandboxUtilization, 0.01)))} | ` +
        `${s.transactLatencyMs.p50} / ${s.transactLatencyMs.p99} ms |`,
    );
  }
  if (r.copy) lines.push('', ...copySection(r.copy));
  if (r.statusLatency) lines.push('', ...statusLatencySection(r.statusLatency));
  if (r.migrate) lines.push('', ...migrateSection(r.migrate));
  lines.push('', '**Targets**', '', '| target | goal | measured | |', '|---|---|---|---|');
  for (const target of r.targets)
    lines.push(`| ${target.name} | ${target.target} | ${target.measured} | ${target.met ? 'met' : '**missed**'} |`);
  return lines.join('\n') + '\n';
}

/** The migrate phase's table. */
export function migrateSection(m: MigrateBenchResult): string[] {
  return [
    `**Migrate** — ${n(m.apps)} task apps of ${m.entitiesPerApp} entities with links, from a sandbox answering as Instant Cloud ` +
      `(chosen ids refused) to a self-hosted one, \`migrate --concurrency ${m.concurrency}\`; against \`reconcile --once ` +
      `--concurrency ${m.concurrency}\` creating as many apps on the target. Create latency L = ${m.latencyMs} ms on both ` +
      'sandboxes in both runs; each run is the whole CLI process, start to exit.',
    '',
    '| | creates | migrate |',
    '|---|---:|---:|',
    `| wall time | ${seconds(m.createsWallMs)} | ${seconds(m.migrateWallMs)} |`,
    `| ÷ creates | 1 | ${m.ratio.toFixed(2)} |`,
    `| N·L/C (the creates' floor) | ${seconds(m.idealMs)} | |`,
    `| migrate CPU (whole process) | | ${seconds(m.migrateCpuMs)} |`,
  ];
}

/** The copy phase's table. */
export function copySection(c: CopyBenchResult): string[] {
  const runs = [c.throughput, ...(c.memory ? [c.memory] : [])];
  const cell = (label: string, value: (run: CopyBenchResult['throughput']) => string) =>
    `| ${label} | ${runs.map(value).join(' | ')} |`;
  return [
    '**Copy** — a source app of three namespaces with links (posts, tags, comments; every comment links its post, ' +
      'every post three tags) on the sandbox; the copy in a process of its own, over HTTP, read back and verified.',
    '',
    `| | ${runs.map((run) => `${n(run.entities)} entities, app → ${run.target}`).join(' | ')} |`,
    `|---|${runs.map(() => '---:').join('|')}|`,
    cell('entities/s, start → verified (backup: the whole CLI run)', (run) => n(run.entitiesPerSecond)),
    cell('entities/s, start → last page written', (run) =>
      run.copyEntitiesPerSecond === null ? '–' : n(run.copyEntitiesPerSecond),
    ),
    cell(
      'time, copy / with verification',
      (run) => `${run.copyMs === null ? '–' : seconds(run.copyMs)} / ${seconds(run.totalMs)}`,
    ),
    cell('peak RSS of the copying process', (run) => `${run.peakRssMb} MB`),
    cell('archive size', (run) => (run.sizeBytes === null ? '–' : `${Math.round(run.sizeBytes / 1024 / 1024)} MB`)),
    cell('sandbox CPU (share of one core)', (run) => String(run.sandboxCpuShare)),
    cell('seeding the source (not timed)', (run) => `${run.seedSeconds} s`),
  ];
}

/** The status-latency phase: a status write to the owner's browser session, and idle sessions' cost. */
export function statusLatencySection(s: StatusLatencyResult): string[] {
  return [
    `**Status to browsers** — ${n(s.clients)} signed-in sessions on the client protocol, each subscribed to its ` +
      `task's database (useTaskDatabase's query); ${n(s.writes)} daemon-shaped status writes (admin transacts with ` +
      `their fence) at ${s.ratePerSecond}/s, one user's record at a time.`,
    '',
    '| | p50 | p95 | p99 | max |',
    '|---|---:|---:|---:|---:|',
    `| write sent → the owner's refresh-ok (ms) | ${s.latency.p50} | ${s.latency.p95} | ${s.latency.p99} | ${s.latency.max} |`,
    `| write sent → transact answered (ms) | ${s.acknowledged.p50} | ${s.acknowledged.p95} | ${s.acknowledged.p99} | ${s.acknowledged.max} |`,
    '',
    `Missed: ${s.missed}; refresh-oks to sessions whose status had not changed: ${s.strayRefreshes}. ` +
      `Sandbox CPU: ${(s.sandboxCpuShareDuringWrites * 100).toFixed(1)}% of a core during the writes, ` +
      `${(s.idle.sandboxCpuShare * 100).toFixed(1)}% with the ${n(s.idle.sessions)} sessions idle for ${s.idle.seconds} s.`,
  ];
}

function accountSizeTable(a: AccountSizeResult): string[] {
  const row = (label: string, cell: (run: AccountSizeRun) => string) =>
    `| ${label} | ${a.runs.map(cell).join(' | ')} |`;
  return [
    `**Account size** — ${n(a.tasks)} new tasks at ${a.ratePerSecond}/s, L = ${a.latencyMs} ms, ` +
      `${Math.round(a.pLost * 100)}% of creates committed with their answer lost, ` +
      `plain \`reconcile --resync-interval ${a.resyncIntervalMs}\` (no node flags, default settings)` +
      (a.repeats > 1 ? `; each figure the median of ${a.repeats} runs, the sizes interleaved.` : '.'),
    '',
    `| create path | ${a.runs.map((run) => run.createPath).join(' | ')} |`,
    `|---|${a.runs.map(() => '---:').join('|')}|`,
    row('apps already provisioned', (run) => n(run.seededApps)),
    row('daemon CPU per new task (start → last link)', (run) => `${run.cpuMsPerTask} ms`),
    ...(a.repeats > 1 ? [row('… each run', (run) => run.cpuMsPerTaskSamples.join(' / '))] : []),
    row('… of which startup (before the subscriptions)', (run) => `${run.startupCpuMsPerTask} ms`),
    row('daemon peak RSS', (run) => `${run.peakRssMb} MB`),
    row('time-to-link p50 / p95 / p99', (run) => pct(run.timeToLink)),
    ...(a.repeats > 1 ? [row('… p99 of each run', (run) => run.p99Samples.join(' / '))] : []),
    row('÷ empty account (same path): CPU / RSS / p99', (run) =>
      [run.ratio.cpuPerTask, run.ratio.peakRss, run.ratio.p99].map((x) => x.toFixed(2)).join(' / '),
    ),
    row('app listings (account or organisation)', (run) => n(run.platformListings)),
    row('sandbox CPU (share of one core)', (run) => String(run.sandboxCpuShare)),
    row('daemon start → last link', (run) => `${run.wallSeconds} s`),
    row('new tasks linked ready / failed', (run) => `${n(run.ready)} / ${run.failed}`),
  ];
}

function n(value: number): string {
  return value.toLocaleString('en-US');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function pct(p: Percentiles): string {
  return `${p.p50} / ${p.p95} / ${p.p99} ms`;
}
