/**
 * One copy in a process of its own, so its memory is its own: `node dist/bench/copy-worker.js
 * '<json job>'`, the job naming the source app and the target (an app or an archive directory).
 * The copy runs under the heap budget `reconcile` and `backup` run under (src/cli/heap-budget.ts:
 * a worker thread of the same process), as it would inside the daemon. Prints one JSON line:
 * entities, how long the copy and its verification took, and the process's peak RSS (getrusage's
 * ru_maxrss: the kernel's own peak, so no spike between samples is missed).
 */
import { isMainThread } from 'node:worker_threads';
import { adoptWorkerProcess, runInHeapBudget } from '../src/cli/heap-budget.js';
import { AppClient, AppSink, AppSource, ArchiveSink, copy, type CopySink } from '../src/copy/index.js';

/** The budget the CLI gives `reconcile` and `backup` by default. */
const HEAP_BUDGET_MB = 96;

export interface CopyJob {
  apiUri: string;
  source: { appId: string; adminToken: string };
  target: { kind: 'app'; appId: string; adminToken: string } | { kind: 'archive'; dir: string };
}

export interface CopyJobResult {
  entities: number;
  /** Start → the last page written. */
  copyMs: number;
  /** Start → verified (the copy read back and compared). */
  totalMs: number;
  peakRssMb: number;
  sizeBytes: number | null;
  verified: boolean;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as CopyJob;
  const source = new AppSource(new AppClient({ apiUri: job.apiUri, ...job.source }));
  const sink: CopySink =
    job.target.kind === 'app'
      ? new AppSink(new AppClient({ apiUri: job.apiUri, appId: job.target.appId, adminToken: job.target.adminToken }))
      : new ArchiveSink(job.target.dir);
  const started = performance.now();
  let copied = started;
  const result = await copy(source, sink, {
    onProgress: (progress) => {
      if (progress.phase === 'copy') copied = performance.now();
    },
  });
  const done = performance.now();
  const out: CopyJobResult = {
    entities: result.entityCount,
    copyMs: Math.round(copied - started),
    totalMs: Math.round(done - started),
    peakRssMb: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    sizeBytes: result.sizeBytes,
    verified: result.verified,
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (isMainThread) {
  process.exit(await runInHeapBudget(new URL(import.meta.url), HEAP_BUDGET_MB));
} else {
  adoptWorkerProcess();
  await main();
  process.exit(0);
}
