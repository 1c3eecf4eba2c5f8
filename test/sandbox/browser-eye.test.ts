/**
 * What a browser can and cannot do with the shipped rules: the real admin SDK impersonates a
 * guest, user A and user B (`db.asUser`) against a sandbox app with instant.schema.ts and
 * instant.perms.ts pushed. Each row observes its outcome; the table is printed for the README.
 */
import { id, init, type InstantAdminDatabase } from '@instantdb/admin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import perms from '../../instant.perms.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { schema } from './helpers.js';

type Db = InstantAdminDatabase<typeof schema>;
type Outcome = 'allowed' | 'denied';

interface Row {
  readonly who: 'guest' | 'user A' | 'user B';
  readonly what: string;
  readonly expected: Outcome;
  /** Does the thing and reports what was observed. */
  readonly run: () => Promise<Outcome>;
}

let sandbox: Sandbox;
let admin: Db;
let guest: Db;
let userA: Db;
let userB: Db;
let aId: string;
let bId: string;
const taskA = id();
const taskB = id();
const dbA = id();

/** A write's outcome: allowed if it commits, denied if the server says permission-denied. */
async function write(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    await run();
    return 'allowed';
  } catch (error) {
    const body = (error as { body?: { type?: string } }).body;
    if (body?.type === 'permission-denied') return 'denied';
    throw error;
  }
}

const seen = (present: boolean): Outcome => (present ? 'allowed' : 'denied');

const rows: Row[] = [
  {
    who: 'guest',
    what: 'list tasks',
    expected: 'denied',
    run: async () => seen((await guest.query({ tasks: {} })).tasks.length > 0),
  },
  {
    who: 'guest',
    what: 'list databases',
    expected: 'denied',
    run: async () => seen((await guest.query({ databases: {} })).databases.length > 0),
  },
  {
    who: 'guest',
    what: 'create a task',
    expected: 'denied',
    run: () => write(() => guest.transact(guest.tx.tasks[id()]!.update({ createdAt: Date.now() }))),
  },
  {
    who: 'user A',
    what: 'create a task owned by self',
    expected: 'allowed',
    run: () =>
      write(() =>
        userA.transact(userA.tx.tasks[taskA]!.update({ title: 'a', createdAt: Date.now() }).link({ owner: aId })),
      ),
  },
  {
    who: 'user A',
    what: 'create a task owned by user B',
    expected: 'denied',
    run: () =>
      write(() => userA.transact(userA.tx.tasks[id()]!.update({ createdAt: Date.now() }).link({ owner: bId }))),
  },
  {
    who: 'user A',
    what: 'create a task with no owner',
    expected: 'denied',
    run: () => write(() => userA.transact(userA.tx.tasks[id()]!.update({ createdAt: Date.now() }))),
  },
  {
    who: 'user A',
    what: 'read own task',
    expected: 'allowed',
    run: async () => seen((await userA.query({ tasks: { $: { where: { id: taskA } } } })).tasks.length === 1),
  },
  {
    who: 'user A',
    what: "read user B's task",
    expected: 'denied',
    run: async () => seen((await userA.query({ tasks: { $: { where: { id: taskB } } } })).tasks.length > 0),
  },
  {
    who: 'user A',
    what: "read own task's database status, name, instantAppId",
    expected: 'allowed',
    run: async () => {
      const [task] = (await userA.query({ tasks: { $: { where: { id: taskA } }, mainDatabase: {} } })).tasks;
      const database = task?.mainDatabase as Record<string, unknown> | null | undefined;
      return seen(
        database?.['status'] === 'ready' && database['name'] === 'db-a' && database['instantAppId'] === 'app-a',
      );
    },
  },
  {
    who: 'user A',
    what: 'read adminToken directly',
    expected: 'denied',
    run: async () => seen((await userA.query({ databases: {} })).databases.some((d) => 'adminToken' in d)),
  },
  {
    who: 'user A',
    what: 'read adminToken nested under tasks { mainDatabase }',
    expected: 'denied',
    run: async () => {
      const { tasks } = await userA.query({ tasks: { mainDatabase: {} } });
      return seen(tasks.some((t) => t.mainDatabase && 'adminToken' in (t.mainDatabase as object)));
    },
  },
  {
    who: 'user A',
    what: "read adminToken via fields: ['adminToken']",
    expected: 'denied',
    run: async () =>
      seen(
        (await userA.query({ databases: { $: { fields: ['adminToken'] } } })).databases.some((d) => 'adminToken' in d),
      ),
  },
  {
    who: 'user A',
    what: 'where adminToken = <the real token>',
    expected: 'denied',
    run: async () =>
      seen((await userA.query({ databases: { $: { where: { adminToken: 'secret-a' } } } })).databases.length > 0),
  },
  {
    who: 'user A',
    what: 'where on tasks by mainDatabase.adminToken',
    expected: 'denied',
    run: async () =>
      seen(
        (await userA.query({ tasks: { $: { where: { 'mainDatabase.adminToken': 'secret-a' } } } })).tasks.length > 0,
      ),
  },
  {
    who: 'user A',
    what: 'create a databases record',
    expected: 'denied',
    run: () =>
      write(() =>
        userA.transact(
          userA.tx.databases[id()]!.update({ name: 'x', taskId: id(), status: 'ready', createdAt: Date.now() }),
        ),
      ),
  },
  {
    who: 'user A',
    what: "update own task's databases record",
    expected: 'denied',
    run: () => write(() => userA.transact(userA.tx.databases[dbA]!.update({ status: 'failed' }))),
  },
  {
    who: 'user A',
    what: "delete own task's databases record",
    expected: 'denied',
    run: () => write(() => userA.transact(userA.tx.databases[dbA]!.delete())),
  },
  {
    who: 'user A',
    what: 'unlink mainDatabase from the tasks side',
    expected: 'denied',
    run: () => write(() => userA.transact(userA.tx.tasks[taskA]!.unlink({ mainDatabase: dbA }))),
  },
  {
    who: 'user A',
    what: 'unlink task from the databases side',
    expected: 'denied',
    run: () => write(() => userA.transact(userA.tx.databases[dbA]!.unlink({ task: taskA }))),
  },
  {
    who: 'user B',
    what: "link own task to user A's database (tasks side)",
    expected: 'denied',
    run: () => write(() => userB.transact(userB.tx.tasks[taskB]!.link({ mainDatabase: dbA }))),
  },
  {
    who: 'user B',
    what: "link user A's database to own task (databases side)",
    expected: 'denied',
    run: () => write(() => userB.transact(userB.tx.databases[dbA]!.link({ task: taskB }))),
  },
  {
    who: 'user A',
    what: 'read databaseFences',
    expected: 'denied',
    run: async () => seen((await userA.query({ databaseFences: {} })).databaseFences.length > 0),
  },
  {
    who: 'user A',
    what: 'write a databaseFences entry',
    expected: 'denied',
    run: () =>
      write(() =>
        userA.transact(userA.tx.databaseFences[id()]!.update({ key: 'k/9', owner: 'me', createdAt: Date.now() })),
      ),
  },
  {
    who: 'user B',
    what: "delete user A's task",
    expected: 'denied',
    run: () => write(() => userB.transact(userB.tx.tasks[taskA]!.delete())),
  },
  {
    who: 'user B',
    what: "update user A's task",
    expected: 'denied',
    run: () => write(() => userB.transact(userB.tx.tasks[taskA]!.update({ title: 'mine now' }))),
  },
  {
    who: 'user B',
    what: 'delete own task',
    expected: 'allowed',
    run: () => write(() => userB.transact(userB.tx.tasks[taskB]!.delete())),
  },
  {
    who: 'user B',
    what: 'delete and re-create a task with the same id',
    expected: 'allowed',
    run: async () => {
      const again = id();
      await userB.transact(userB.tx.tasks[again]!.update({ createdAt: Date.now() }).link({ owner: bId }));
      await userB.transact(userB.tx.tasks[again]!.delete());
      return write(() => userB.transact(userB.tx.tasks[again]!.update({ createdAt: Date.now() }).link({ owner: bId })));
    },
  },
];

describe('browser-eye: what the shipped rules let a browser do', () => {
  beforeAll(async () => {
    sandbox = await startSandbox({ seed: 7 });
    const app = sandbox.createApp({ title: 'main', schema, perms });
    admin = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
    guest = admin.asUser({ guest: true });
    userA = admin.asUser({ token: await admin.auth.createToken('a@example.com') });
    userB = admin.asUser({ token: await admin.auth.createToken('b@example.com') });
    aId = (await admin.query({ $users: { $: { where: { email: 'a@example.com' } } } })).$users[0]!.id;
    bId = (await admin.query({ $users: { $: { where: { email: 'b@example.com' } } } })).$users[0]!.id;
    // User B's task and user A's database are the daemon's doing (admin token: no rules).
    await admin.transact(admin.tx.tasks[taskB]!.update({ title: 'b', createdAt: Date.now() }).link({ owner: bId }));
  });
  afterAll(() => sandbox?.close());

  it('each row observes the expected outcome', async () => {
    const observed: string[] = [];
    for (const row of rows) {
      const outcome = await row.run();
      observed.push(`${row.who} | ${row.what} | ${outcome}`);
      // The daemon provisions A's database once A's task exists.
      if (row.what === 'create a task owned by self') {
        await admin.transact([
          admin.tx.databases[dbA]!.update({
            name: 'db-a',
            taskId: taskA,
            status: 'ready',
            instantAppId: 'app-a',
            adminToken: 'secret-a',
            createdAt: Date.now(),
          }),
          admin.tx.tasks[taskA]!.link({ mainDatabase: dbA }),
        ]);
      }
    }
    process.stdout.write(
      `\n| who | action | outcome |\n|---|---|---|\n${observed.map((r) => `| ${r} |`).join('\n')}\n`,
    );
    expect(observed).toEqual(rows.map((r) => `${r.who} | ${r.what} | ${r.expected}`));
  });

  it('the daemon (admin token) still reads the admin token and its database records', async () => {
    const { databases } = await admin.query({ databases: { task: {} } });
    expect(databases.find((d) => d.id === dbA)?.adminToken).toBe('secret-a');
  });
});
