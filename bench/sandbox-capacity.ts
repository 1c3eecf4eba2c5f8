/**
 * How much daemon-shaped traffic one sandbox process serves. Seeds `tasks` tasks (most of the
 * older ones linked to a database), opens the daemon's four live queries, then for
 * `seconds` (or for a fixed number of `cycles`) runs `concurrency` workers through the daemon's
 * cycle with the real admin SDK over HTTP: claim (create database + link), read back (task by id,
 * database by taskId), fenced update, and now and then a name lookup and a delete (which unlinks
 * an old task again).
 *
 * Compiled (dist), the sandbox runs on a worker thread of the same process, so the client's
 * own CPU (undici, web streams, JSON) does not count against the sandbox; from TypeScript
 * sources (vitest) it runs on the calling thread and the figures are a lower bound.
 *
 * Run directly: `node dist/bench/sandbox-capacity.js [--tasks N] [--seconds S] [--concurrency C]`.
 */
import { id, init } from '@instantdb/admin';
import { once } from 'node:events';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import schema from '../instant.schema.js';
import { startSandbox, type SandboxStats } from '../src/sandbox/index.js';
import {
  detachedRecordsQuery,
  retryRequestsQuery,
  unfinishedRecordsQuery,
  unlinkedTasksQuery,
} from '../src/store/records.js';
import { untyped } from '../src/store/instant-db.js';

/** What to measure. */
export interface CapacityOptions {
  /** Tasks in the main app before the measurement starts. */
  tasks: number;
  /** Length of the measured phase, in seconds; or give `cycles`. */
  seconds?: number;
  /**
   * Instead of a length: the measured phase ends after this many daemon cycles, a fixed amount of
   * work whatever the machine's speed (what a test asks for; the rates are still per second).
   */
  cycles?: number;
  /** Workers issuing requests in parallel; default 16. */
  concurrency?: number;
  /** Share of the seeded tasks left without a database (the newest ones); default 0.01. */
  unlinkedShare?: number;
  /** Run the sandbox on a worker thread; default: when running compiled JavaScript. */
  isolate?: boolean;
}

/** What was measured (rates are per second of the measured phase). */
export interface CapacityResult {
  tasks: number;
  seconds: number;
  concurrency: number;
  /** Where the sandbox ran: its own worker thread, or the thread that also ran the client. */
  sandboxThread: 'worker' | 'shared';
  /**
   * Share of the measured phase the sandbox's event loop was busy (0..1). On a worker thread,
   * `transactsPerSecond / sandboxUtilization` bounds what the sandbox alone could serve.
   */
  sandboxUtilization: number;
  /** Daemon-shaped transactions: claim, fenced update, delete. */
  transacts: number;
  transactsPerSecond: number;
  /** Task-by-id + database-by-taskId reads and name lookups. */
  queries: number;
  queriesPerSecond: number;
  transactLatencyMs: { p50: number; p99: number };
  queryLatencyMs: { p50: number; p99: number };
  /** Payloads the four subscriptions delivered during the measured phase. */
  subscriptionPayloads: number;
  /** Sandbox-side subscription recomputations and refresh-ok messages during the measured phase. */
  recomputes: number;
  refreshes: number;
  /** Browser-like task inserts made when the unlinked pool ran dry (not counted in `transacts`). */
  taskBatches: number;
  seedSeconds: number;
}

const SEED_BATCH = 500;

/** Starts a sandbox, seeds it, measures, closes it. */
export async function measureSandboxCapacity(opts: CapacityOptions): Promise<CapacityResult> {
  if ((opts.seconds === undefined) === (opts.cycles === undefined))
    throw new Error('measureSandboxCapacity: give either seconds or cycles');
  const concurrency = opts.concurrency ?? 16;
  const isolate = opts.isolate ?? import.meta.url.endsWith('.js');
  const sandbox = isolate ? await inWorker() : await inProcess();
  const app = sandbox.app;
  const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
  const subs: { close(): void }[] = [];
  try {
    const seedStarted = performance.now();
    const unlinked = await seed(db, opts.tasks, opts.unlinkedShare ?? 0.01);
    const ready: { database: string; task: string }[] = [];
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    let payloads = 0;
    const count = () => payloads++;
    // The daemon's four live queries, as it opens them (src/feed/instant-feed.ts).
    subs.push(
      ...[
        unlinkedTasksQuery(256, null),
        unfinishedRecordsQuery(256, 'another-daemon'),
        detachedRecordsQuery(256),
        retryRequestsQuery(256),
      ].map((query) => db.subscribeQuery(untyped(query), count)),
    );
    while (payloads < 4) await new Promise((resolve) => setTimeout(resolve, 10));

    const before = await sandbox.stats();
    const eluBefore = await sandbox.elu();
    payloads = 0;
    const txLatencies: number[] = [];
    const queryLatencies: number[] = [];
    const timed = async <T>(into: number[], work: Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await work;
      into.push(performance.now() - started);
      return result;
    };
    let taskBatches = 0;
    let cycles = 0;
    const deadline = performance.now() + (opts.seconds ?? 0) * 1000;
    const more = () => (opts.cycles === undefined ? performance.now() < deadline : cycles < opts.cycles);

    const worker = async (name: string) => {
      while (more()) {
        const task = unlinked.shift();
        if (!task) {
          taskBatches++;
          const fresh = Array.from({ length: 100 }, () => id());
          await db.transact(fresh.map((t) => db.tx.tasks[t]!.update({ createdAt: Date.now() })));
          unlinked.push(...fresh);
          continue;
        }
        const cycle = ++cycles;
        const database = id();
        await timed(
          txLatencies,
          db.transact([
            db.tx.databases[database]!.update({
              name: `db-${database}`,
              taskId: task,
              status: 'provisioning',
              attempts: 0,
              createdAt: Date.now(),
            }),
            db.tx.tasks[task]!.link({ mainDatabase: database }),
          ]),
        );
        await timed(
          queryLatencies,
          db.query({
            tasks: { $: { where: { id: task } }, mainDatabase: {} },
            databases: { $: { where: { taskId: task } } },
          }),
        );
        await timed(
          txLatencies,
          db.transact([
            db.tx.databaseFences[id()]!.update({ key: `${database}/1`, owner: name, createdAt: Date.now() }),
            db.tx.databases[database]!.update({
              status: 'ready',
              instantAppId: id(),
              adminToken: id(),
              readyAt: Date.now(),
              generation: 1,
            }),
          ]),
        );
        ready.push({ database, task });
        if (cycle % 10 === 0) {
          const names = ready.slice(-10).map((r) => `db-${r.database}`);
          await timed(queryLatencies, db.query({ databases: { $: { where: { name: { $in: names } } } } }));
        }
        if (cycle % 20 === 0) {
          // Deleting a database unlinks its (old) task, which the subscription must find again.
          const victim = ready.splice(Math.floor(ready.length / 2), 1)[0]!;
          await timed(txLatencies, db.transact(db.tx.databases[victim.database]!.delete()));
          unlinked.unshift(victim.task);
        }
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(`worker-${i}`)));
    const elapsed = (performance.now() - started) / 1000;
    const after = await sandbox.stats();
    const busy = performance.eventLoopUtilization(await sandbox.elu(), eluBefore).utilization;
    return {
      tasks: opts.tasks,
      seconds: round(elapsed),
      concurrency,
      sandboxThread: isolate ? 'worker' : 'shared',
      sandboxUtilization: round(busy),
      transacts: txLatencies.length,
      transactsPerSecond: Math.round(txLatencies.length / elapsed),
      queries: queryLatencies.length,
      queriesPerSecond: Math.round(queryLatencies.length / elapsed),
      transactLatencyMs: percentiles(txLatencies),
      queryLatencyMs: percentiles(queryLatencies),
      subscriptionPayloads: payloads,
      recomputes: after.recomputes - before.recomputes,
      refreshes: after.refreshes - before.refreshes,
      taskBatches,
      seedSeconds: round(seedSeconds),
    };
  } finally {
    for (const sub of subs) sub.close();
    await sandbox.close();
  }
}

/** A sandbox with one app on the project schema, wherever it runs. */
interface BenchSandbox {
  url: string;
  app: { id: string; adminToken: string };
  stats(): Promise<SandboxStats>;
  /** Event-loop utilization of the thread the sandbox runs on. */
  elu(): Promise<EventLoopUtilization>;
  close(): Promise<void>;
}

async function inProcess(): Promise<BenchSandbox> {
  const sandbox = await startSandbox({ seed: 1 });
  const app = sandbox.createApp({ title: 'capacity', schema });
  return {
    url: sandbox.url,
    app,
    stats: async () => sandbox.stats(),
    elu: async () => performance.eventLoopUtilization(),
    close: () => sandbox.close(),
  };
}

async function inWorker(): Promise<BenchSandbox> {
  const worker = new Worker(new URL('./sandbox-capacity-worker.js', import.meta.url));
  const [info] = (await once(worker, 'message')) as [{ url: string; platformToken: string; app: BenchSandbox['app'] }];
  return {
    url: info.url,
    app: info.app,
    stats: async () => {
      const res = await fetch(`${info.url}/__sandbox/stats`, {
        headers: { authorization: `Bearer ${info.platformToken}` },
      });
      return (await res.json()) as SandboxStats;
    },
    elu: async () => {
      worker.postMessage('elu');
      return ((await once(worker, 'message')) as [EventLoopUtilization])[0];
    },
    close: async () => {
      worker.postMessage('close');
      await once(worker, 'exit');
    },
  };
}

/** Inserts the tasks oldest first; links all but the newest `unlinkedShare` to a ready database. Returns the unlinked ids. */
async function seed(
  db: ReturnType<typeof init<typeof schema>>,
  tasks: number,
  unlinkedShare: number,
): Promise<string[]> {
  const ids = Array.from({ length: tasks }, () => id());
  for (let i = 0; i < tasks; i += SEED_BATCH) {
    await db.transact(ids.slice(i, i + SEED_BATCH).map((t, j) => db.tx.tasks[t]!.update({ createdAt: i + j })));
  }
  const linked = Math.floor(tasks * (1 - unlinkedShare));
  for (let i = 0; i < linked; i += SEED_BATCH / 2) {
    await db.transact(
      ids.slice(i, Math.min(i + SEED_BATCH / 2, linked)).flatMap((t, j) => {
        const database = id();
        return [
          db.tx.databases[database]!.update({ name: `seed-${i + j}`, taskId: t, status: 'ready', createdAt: i + j }),
          db.tx.tasks[t]!.link({ mainDatabase: database }),
        ];
      }),
    );
  }
  return ids.slice(linked);
}

function percentiles(samples: number[]): { p50: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { p50: at(0.5), p99: at(0.99) };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      tasks: { type: 'string', default: '100000' },
      seconds: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '16' },
    },
  });
  const result = await measureSandboxCapacity({
    tasks: Number(values.tasks),
    seconds: Number(values.seconds),
    concurrency: Number(values.concurrency),
  });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}
