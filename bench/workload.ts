/**
 * The client side of a benchmark: tasks created as a browser creates them, the check that
 * every task is linked to a ready record, and an observer that sees links the way a client
 * does, through `subscribeQuery` with the real Admin SDK.
 */
import { id, init } from '@instantdb/admin';
import schema from '../instant.schema.js';
import type { MainAppEnv } from './processes.js';

export type BenchDb = ReturnType<typeof init<typeof schema>>;

/** Wall-clock ms with sub-ms resolution (performance.now anchored at the epoch). */
export const now = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function connect(env: MainAppEnv): BenchDb {
  return init({ appId: env.INSTANT_APP_ID, adminToken: env.INSTANT_ADMIN_TOKEN, apiURI: env.INSTANT_API_URI, schema });
}

/**
 * Creates `count` tasks in batches (one transaction each, as a bulk import would), calling
 * `onBatch` with each batch's ids once the server has acknowledged it. Returns when all exist.
 */
export async function createTaskBatches(
  db: BenchDb,
  count: number,
  batchSize: number,
  onBatch: (ids: string[], ackedAt: number) => void = () => {},
): Promise<void> {
  for (let start = 0; start < count; start += batchSize) {
    const ids = Array.from({ length: Math.min(batchSize, count - start) }, () => id());
    await db.transact(ids.map((taskId) => db.tx.tasks[taskId]!.update({ title: 'bench', createdAt: Date.now() })));
    onBatch(ids, now());
  }
}

/**
 * Creates `count` tasks one at a time at a steady `perSecond`, each in its own transaction
 * (a browser creating a task), calling `onCreated` when the server acknowledged it.
 */
export async function createTasksSteadily(
  db: BenchDb,
  count: number,
  perSecond: number,
  onCreated: (taskId: string, ackedAt: number) => void,
): Promise<void> {
  const started = now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / perSecond;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    const taskId = id();
    inFlight.push(
      db
        .transact(db.tx.tasks[taskId]!.update({ title: 'bench', createdAt: Date.now() }))
        .then(() => onCreated(taskId, now())),
    );
  }
  await Promise.all(inFlight);
}

/**
 * Polls until no task is unlinked and no record is still provisioning; resolves with the
 * time it first saw that. Call it only once every task has been created.
 */
export async function waitUntilAllLinked(db: BenchDb, pollMs: number, timeoutMs: number): Promise<number> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const { tasks, databases } = await db.query({
      // Newest first: the provisioner works oldest first, so this finds a straggler at once.
      tasks: { $: { where: { 'mainDatabase.id': { $isNull: true } }, limit: 1, order: { serverCreatedAt: 'desc' } } },
      databases: { $: { where: { status: 'provisioning' }, limit: 1 } },
    });
    if (tasks.length === 0 && databases.length === 0) return now();
    if (now() > deadline) throw new Error(`tasks still unlinked after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

/**
 * Polls the tasks `ids` until each is linked to a finished (ready or failed) record; resolves
 * with the time it first saw that. Reads by id (an index lookup), and only the tasks not finished
 * at the last look, so in an account with 100,000 other tasks the benchmark's own polling does not
 * make the sandbox scan them (a whole-app `$isNull` poll cost ~110 ms of sandbox time there, during
 * the last tasks' time-to-link).
 */
export async function waitUntilFinished(
  db: BenchDb,
  ids: string[],
  pollMs: number,
  timeoutMs: number,
): Promise<number> {
  const deadline = now() + timeoutMs;
  let pending = ids;
  for (;;) {
    const tasks = await tasksById(db, pending);
    const finished = new Set(
      tasks.filter((task) => ['ready', 'failed'].includes(linkedStatus(task) ?? '')).map((task) => task.id),
    );
    pending = pending.filter((id) => !finished.has(id));
    if (pending.length === 0) return now();
    if (now() > deadline) throw new Error(`${pending.length} tasks still unfinished after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

/** How many tasks there are, how many are linked to a ready record, and how many to a failed one. */
export async function countLinks(db: BenchDb): Promise<{ tasks: number; ready: number; failed: number }> {
  const { tasks } = await db.query({
    tasks: { $: { fields: ['createdAt'] }, mainDatabase: { $: { fields: ['status'] } } },
  });
  return tally(tasks);
}

/**
 * The same for the tasks `ids` only, read by id (an index lookup), so it stays cheap in an
 * account with 100,000 other tasks.
 */
export async function countLinksOf(
  db: BenchDb,
  ids: string[],
): Promise<{ tasks: number; ready: number; failed: number }> {
  return tally(await tasksById(db, ids));
}

/** The tasks `ids` with their record's status, read by id in pages of 500. */
async function tasksById(db: BenchDb, ids: string[]): Promise<Array<{ id: string; mainDatabase?: unknown }>> {
  const found: Array<{ id: string; mainDatabase?: unknown }> = [];
  for (let i = 0; i < ids.length; i += 500) {
    const { tasks } = await db.query({
      tasks: {
        $: { where: { id: { $in: ids.slice(i, i + 500) } }, fields: ['createdAt'] },
        mainDatabase: { $: { fields: ['status'] } },
      },
    });
    found.push(...tasks);
  }
  return found;
}

/** The status of the record a task links to, if any. */
function linkedStatus(task: { mainDatabase?: unknown }): string | undefined {
  // Has-one: an object with the schema's inference, an array without.
  const link = task.mainDatabase as { status?: string } | { status?: string }[] | null | undefined;
  return Array.isArray(link) ? link[0]?.status : link?.status;
}

function tally(tasks: Array<{ mainDatabase?: unknown }>): { tasks: number; ready: number; failed: number } {
  let ready = 0;
  let failed = 0;
  for (const task of tasks) {
    const status = linkedStatus(task);
    if (status === 'ready') ready++;
    else if (status === 'failed') failed++;
  }
  return { tasks: tasks.length, ready, failed };
}

/**
 * Watches the newest tasks linked to a ready record, as a client would, and remembers when
 * each task first showed up linked. The window is small and creation-ordered, so each refresh
 * costs the sandbox and this process little; with tasks arriving at a steady rate below
 * capacity, every task passes through it.
 */
export class LinkObserver {
  /** Task id → when a snapshot first showed it linked to a ready record. */
  readonly seen = new Map<string, number>();
  private readonly subscription: { close(): void };
  private readonly firstSnapshot: Promise<void>;

  constructor(db: BenchDb, window = 64) {
    let ready!: () => void;
    this.firstSnapshot = new Promise((resolve) => (ready = resolve));
    this.subscription = db.subscribeQuery(
      {
        tasks: {
          $: {
            where: { 'mainDatabase.status': 'ready' },
            order: { serverCreatedAt: 'desc' },
            limit: window,
            fields: ['createdAt'],
          },
        },
      },
      (payload) => {
        if (payload.type !== 'ok') return;
        const at = now();
        for (const task of payload.data.tasks) if (!this.seen.has(task.id)) this.seen.set(task.id, at);
        ready();
      },
    );
  }

  /** Resolves once the subscription delivered its first snapshot. */
  started(): Promise<void> {
    return this.firstSnapshot;
  }

  close(): void {
    this.subscription.close();
  }
}
