/**
 * What a browser can and cannot do with the shipped rules (instant.schema.ts, instant.perms.ts):
 * one row per probe, each run as a guest, user A or user B through a client that speaks to the
 * server the way a browser does, against the data of world.ts (checked to exist first). Each row
 * states what it expects and reports what it saw; the README's table is these rows.
 *
 * A read is "allowed" when the data came back and "denied" when it did not; a field probe is only
 * conclusive when the record itself came back. A write is "allowed" when the server confirmed it
 * and "denied" when it answered permission-denied; anything else is an error, never a pass.
 *
 * Pure functions over a `db` (no Node import), so a browser page can run them with
 * `@instantdb/core` or `@instantdb/react`. Give it a client made without a schema, as an attacker
 * would: a client with a schema refuses unknown attributes before sending them. Links come back as
 * objects or arrays depending on cardinality inference; the probes read both.
 */
import type { World } from './world.js';

/** Who runs a probe. */
export type Who = 'guest' | 'user A' | 'user B';
/** What a probe expects. */
export type Outcome = 'allowed' | 'denied';

/** What a probe saw: an outcome (or `inconclusive`) and, in words, why. */
export interface Observation {
  readonly outcome: Outcome | 'inconclusive';
  readonly saw: string;
}

/** The client API the probes use: `@instantdb/core`'s (and `@instantdb/react`'s). */
export interface ProbeDb {
  readonly tx: any;
  transact(chunks: unknown): Promise<{ status?: string } | unknown>;
  queryOnce(q: Record<string, unknown>): Promise<{ data: Record<string, any[]> }>;
}

/** What a probe runs with. */
export interface ProbeContext {
  readonly db: ProbeDb;
  readonly world: World;
  /** A fresh entity id (the SDK's `id`). */
  newId(): string;
}

/** One row of the table. */
export interface Probe {
  readonly who: Who;
  readonly what: string;
  readonly expected: Outcome;
  run(p: ProbeContext): Promise<Observation>;
}

const one = (x: unknown): any => (Array.isArray(x) ? x[0] : x);

async function rowsOf(db: ProbeDb, ns: string, q: Record<string, unknown>): Promise<any[]> {
  return (await db.queryOnce({ [ns]: q })).data[ns] ?? [];
}

/** A read: allowed when something came back. */
async function read(db: ProbeDb, ns: string, q: Record<string, unknown>): Promise<Observation> {
  const found = await rowsOf(db, ns, q);
  return { outcome: found.length ? 'allowed' : 'denied', saw: `${found.length} ${ns} row(s)` };
}

/** A field of a record the reader does see: denied when the record came back without it. */
function field(record: any, label: string, what: string): Observation {
  if (!record) return { outcome: 'inconclusive', saw: `${what} did not come back, so the field cannot be judged` };
  return label in record && record[label] !== undefined
    ? { outcome: 'allowed', saw: `${what} came back with ${label}` }
    : { outcome: 'denied', saw: `${what} came back without ${label}` };
}

/**
 * A write: allowed when the server confirmed it, denied on permission-denied (of the namespace
 * `on`, when given: a denial for another reason would prove nothing).
 */
async function write(db: ProbeDb, chunks: unknown, on?: string): Promise<Observation> {
  try {
    const result = (await db.transact(chunks)) as { status?: string } | undefined;
    if (result?.status !== undefined && result.status !== 'synced')
      return { outcome: 'inconclusive', saw: `transaction ${result.status}, not confirmed by the server` };
    return { outcome: 'allowed', saw: 'the server confirmed the transaction' };
  } catch (error) {
    const hint = (error as { hint?: any; body?: { hint?: any } }).hint ?? (error as { body?: any }).body?.hint;
    if (hint?.expected !== 'perms-pass?') return { outcome: 'inconclusive', saw: `error: ${(error as Error).message}` };
    const input = Array.isArray(hint.input) ? hint.input.join(', ') : String(hint.input);
    if (on !== undefined && hint.input?.[0] !== on)
      return { outcome: 'inconclusive', saw: `permission-denied on ${input}, not on ${on}` };
    return { outcome: 'denied', saw: `permission-denied (${input})` };
  }
}

const taskById = (id: string, extra: Record<string, unknown> = {}) => ({ $: { where: { id } }, ...extra });

/** The rows, in the order they run (allowed writes never disturb a later row). */
export const PROBES: readonly Probe[] = [
  // ---- a guest (no user) ----
  {
    who: 'guest',
    what: 'list tasks',
    expected: 'denied',
    run: ({ db }) => read(db, 'tasks', {}),
  },
  {
    who: 'guest',
    what: "read user A's task by id",
    expected: 'denied',
    run: ({ db, world }) => read(db, 'tasks', taskById(world.tasks.a)),
  },
  {
    who: 'guest',
    what: 'list databases',
    expected: 'denied',
    run: ({ db }) => read(db, 'databases', {}),
  },
  {
    who: 'guest',
    what: 'read databaseFences',
    expected: 'denied',
    run: ({ db }) => read(db, 'databaseFences', {}),
  },
  {
    who: 'guest',
    what: "where adminToken = user A's admin token",
    expected: 'denied',
    run: ({ db, world }) => read(db, 'databases', { $: { where: { adminToken: world.adminTokens.a } } }),
  },
  {
    who: 'guest',
    what: 'create a task',
    expected: 'denied',
    run: ({ db, newId }) => write(db, db.tx.tasks[newId()].update({ createdAt: Date.now() }), 'tasks'),
  },
  {
    who: 'guest',
    what: 'create a databases record',
    expected: 'denied',
    run: ({ db, newId }) =>
      write(
        db,
        db.tx.databases[newId()].update({ name: 'x', taskId: newId(), status: 'ready', createdAt: 1 }),
        'databases',
      ),
  },
  {
    who: 'guest',
    what: "create an iteration of user A's task",
    expected: 'denied',
    run: ({ db, world, newId }) =>
      write(db, db.tx.iterations[newId()].update({ createdAt: 1 }).link({ task: world.tasks.a })),
  },
  {
    who: 'guest',
    what: "set databaseRetryRequestedAt on user A's task",
    expected: 'denied',
    run: ({ db, world }) =>
      write(db, db.tx.tasks[world.tasks.a].update({ databaseRetryRequestedAt: Date.now() }), 'tasks'),
  },
  {
    who: 'guest',
    what: 'create an attribute',
    expected: 'denied',
    run: ({ db, newId }) => write(db, db.tx.tasks[newId()].update({ createdAt: 1, guestColour: 'red' }), 'attrs'),
  },

  // ---- user A ----
  {
    who: 'user A',
    what: 'read own task',
    expected: 'allowed',
    run: ({ db, world }) => read(db, 'tasks', taskById(world.tasks.a)),
  },
  {
    who: 'user A',
    what: "read own task's database status, name, instantAppId",
    expected: 'allowed',
    run: async ({ db, world }) => {
      const database = one((await rowsOf(db, 'tasks', taskById(world.tasks.a, { mainDatabase: {} })))[0]?.mainDatabase);
      const complete = database?.status === 'ready' && database.name === 'database-of-a' && !!database.instantAppId;
      return complete
        ? { outcome: 'allowed', saw: `status ${database.status}, name ${database.name}, instantAppId present` }
        : { outcome: 'denied', saw: `database: ${JSON.stringify(database ?? null)}` };
    },
  },
  {
    who: 'user A',
    what: "read user B's task",
    expected: 'denied',
    run: ({ db, world }) => read(db, 'tasks', taskById(world.tasks.b)),
  },
  {
    who: 'user A',
    what: "read user B's database",
    expected: 'denied',
    run: ({ db, world }) => read(db, 'databases', { $: { where: { id: world.databases.b } } }),
  },
  {
    who: 'user A',
    what: "read the fences of own task's database",
    expected: 'denied',
    run: ({ db, world }) => read(db, 'databaseFences', { $: { where: { key: { $like: `${world.databases.a}/%` } } } }),
  },
  {
    who: 'user A',
    what: 'read adminToken directly',
    expected: 'denied',
    run: async ({ db, world }) =>
      field(
        (await rowsOf(db, 'databases', { $: { where: { id: world.databases.a } } }))[0],
        'adminToken',
        'own database',
      ),
  },
  {
    who: 'user A',
    what: "read pendingAdminToken (a restore's new app) directly",
    expected: 'denied',
    run: async ({ db, world }) =>
      field(
        (await rowsOf(db, 'databases', { $: { where: { id: world.databases.a } } }))[0],
        'pendingAdminToken',
        'own database',
      ),
  },
  {
    who: 'user A',
    what: 'read adminToken nested under tasks { mainDatabase }',
    expected: 'denied',
    run: async ({ db, world }) => {
      const [task] = await rowsOf(db, 'tasks', taskById(world.tasks.a, { mainDatabase: {} }));
      return field(one(task?.mainDatabase), 'adminToken', 'own database under own task');
    },
  },
  {
    who: 'user A',
    what: "read adminToken via fields: ['adminToken']",
    expected: 'denied',
    run: async ({ db, world }) => {
      const [record] = await rowsOf(db, 'databases', {
        $: { where: { id: world.databases.a }, fields: ['adminToken'] },
      });
      return field(record, 'adminToken', 'own database (fields: adminToken)');
    },
  },
  {
    who: 'user A',
    what: 'where adminToken = <the real token>',
    expected: 'denied',
    run: ({ db, world }) => read(db, 'databases', { $: { where: { adminToken: world.adminTokens.a } } }),
  },
  {
    who: 'user A',
    what: 'where on tasks by mainDatabase.adminToken',
    expected: 'denied',
    run: ({ db, world }) => read(db, 'tasks', { $: { where: { 'mainDatabase.adminToken': world.adminTokens.a } } }),
  },
  {
    who: 'user A',
    what: 'read leaseOwner of own database',
    expected: 'denied',
    run: async ({ db, world }) =>
      field(
        (await rowsOf(db, 'databases', { $: { where: { id: world.databases.a } } }))[0],
        'leaseOwner',
        'own database',
      ),
  },
  {
    who: 'user A',
    what: 'create a task owned by self',
    expected: 'allowed',
    run: ({ db, world, newId }) =>
      write(db, db.tx.tasks[newId()].update({ title: 'new', createdAt: Date.now() }).link({ owner: world.users.a })),
  },
  {
    who: 'user A',
    what: 'create a task owned by user B',
    expected: 'denied',
    run: ({ db, world, newId }) =>
      write(db, db.tx.tasks[newId()].update({ createdAt: Date.now() }).link({ owner: world.users.b }), 'tasks'),
  },
  {
    who: 'user A',
    what: 'create a task with no owner',
    expected: 'denied',
    run: ({ db, newId }) => write(db, db.tx.tasks[newId()].update({ createdAt: Date.now() }), 'tasks'),
  },
  {
    who: 'user A',
    what: 'create a databases record',
    expected: 'denied',
    run: ({ db, newId }) =>
      write(
        db,
        db.tx.databases[newId()].update({ name: 'x', taskId: newId(), status: 'ready', createdAt: 1 }),
        'databases',
      ),
  },
  {
    who: 'user A',
    what: "update own task's databases record",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.databases[world.databases.a].update({ status: 'failed' }), 'databases'),
  },
  {
    who: 'user A',
    what: "delete own task's databases record",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.databases[world.databases.a].delete(), 'databases'),
  },
  {
    who: 'user A',
    what: "link own second task's mainDatabase to own database",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.a2].link({ mainDatabase: world.databases.a })),
  },
  {
    who: 'user A',
    what: 'unlink mainDatabase from the tasks side',
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.a].unlink({ mainDatabase: world.databases.a })),
  },
  {
    who: 'user A',
    what: 'unlink task from the databases side',
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.databases[world.databases.a].unlink({ task: world.tasks.a })),
  },
  {
    who: 'user A',
    what: "link forkedFrom to user B's iteration",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.a2].link({ forkedFrom: world.iterations.b })),
  },
  {
    who: 'user A',
    what: 'link forkedFrom to own iteration',
    expected: 'allowed',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.a2].link({ forkedFrom: world.iterations.a })),
  },
  {
    who: 'user A',
    what: 'create an iteration of own task',
    expected: 'allowed',
    run: ({ db, world, newId }) =>
      write(db, db.tx.iterations[newId()].update({ createdAt: Date.now() }).link({ task: world.tasks.a })),
  },
  {
    who: 'user A',
    what: "create an iteration of user B's task",
    expected: 'denied',
    run: ({ db, world, newId }) =>
      write(db, db.tx.iterations[newId()].update({ createdAt: Date.now() }).link({ task: world.tasks.b })),
  },
  {
    who: 'user A',
    what: 'set databaseRetryRequestedAt on own task',
    expected: 'allowed',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.a].update({ databaseRetryRequestedAt: Date.now() })),
  },
  {
    who: 'user A',
    what: "set databaseRetryRequestedAt on user B's task",
    expected: 'denied',
    run: ({ db, world }) =>
      write(db, db.tx.tasks[world.tasks.b].update({ databaseRetryRequestedAt: Date.now() }), 'tasks'),
  },
  {
    who: 'user A',
    what: 'write a databaseFences entry',
    expected: 'denied',
    run: ({ db, newId }) =>
      write(
        db,
        db.tx.databaseFences[newId()].update({ key: `${newId()}/9`, owner: 'me', createdAt: 1 }),
        'databaseFences',
      ),
  },
  {
    who: 'user A',
    what: 'create an attribute',
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.a].update({ colour: 'red' }), 'attrs'),
  },

  // ---- user B ----
  {
    who: 'user B',
    what: "read user A's task",
    expected: 'denied',
    run: ({ db, world }) => read(db, 'tasks', taskById(world.tasks.a)),
  },
  {
    who: 'user B',
    what: "read user A's database",
    expected: 'denied',
    run: ({ db, world }) => read(db, 'databases', { $: { where: { id: world.databases.a } } }),
  },
  {
    who: 'user B',
    what: "where adminToken = user A's admin token",
    expected: 'denied',
    run: ({ db, world }) => read(db, 'databases', { $: { where: { adminToken: world.adminTokens.a } } }),
  },
  {
    who: 'user B',
    what: "link own task to user A's database (tasks side)",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.b].link({ mainDatabase: world.databases.a })),
  },
  {
    who: 'user B',
    what: "link user A's database to own task (databases side)",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.databases[world.databases.a].link({ task: world.tasks.b })),
  },
  {
    who: 'user B',
    what: "link forkedFrom to user A's iteration",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.b].link({ forkedFrom: world.iterations.a })),
  },
  {
    who: 'user B',
    what: "update user A's task",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.a].update({ title: 'mine now' }), 'tasks'),
  },
  {
    who: 'user B',
    what: "delete user A's task",
    expected: 'denied',
    run: ({ db, world }) => write(db, db.tx.tasks[world.tasks.a].delete(), 'tasks'),
  },
  {
    who: 'user B',
    what: 'delete own task',
    expected: 'allowed',
    run: async ({ db, world, newId }) => {
      const task = newId();
      const made = await write(db, db.tx.tasks[task].update({ createdAt: Date.now() }).link({ owner: world.users.b }));
      if (made.outcome !== 'allowed') return { outcome: 'inconclusive', saw: `could not make the task: ${made.saw}` };
      return write(db, db.tx.tasks[task].delete());
    },
  },
  {
    who: 'user B',
    what: 'delete and re-create a task with the same id',
    expected: 'allowed',
    run: async ({ db, world, newId }) => {
      const task = newId();
      const create = () => db.tx.tasks[task].update({ createdAt: Date.now() }).link({ owner: world.users.b });
      for (const step of [create(), db.tx.tasks[task].delete()]) {
        const done = await write(db, step);
        if (done.outcome !== 'allowed') return { outcome: 'inconclusive', saw: `setup step refused: ${done.saw}` };
      }
      return write(db, create());
    },
  },
];

/** The README's table row of a probe: `| who | action | expected |`. */
export function tableRow(probe: Pick<Probe, 'who' | 'what' | 'expected'>): string {
  return `| ${probe.who} | ${probe.what} | ${probe.expected} |`;
}
