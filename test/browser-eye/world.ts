/**
 * The data the browser-eye probes run against, made with the admin SDK (as the daemon and the
 * operator's server would): users A and B, each with two tasks, a ready database holding an admin
 * token (and the admin token of a restore in progress), its fences and an iteration. `checkWorld` proves it is all there before any probe runs,
 * so that no "denied" row can pass on empty data.
 *
 * No Node import: the Chromium test's Node side uses it too, and hands the world to the page.
 */

/** Everything a probe names. */
export interface World {
  readonly users: { readonly a: string; readonly b: string };
  /** Refresh tokens of A and B (`auth.createToken`), for `signInWithToken`. */
  readonly tokens: { readonly a: string; readonly b: string };
  /** A's first and second task, B's task. */
  readonly tasks: { readonly a: string; readonly a2: string; readonly b: string };
  readonly databases: { readonly a: string; readonly b: string };
  /** The admin tokens stored in A's and B's database records: what no browser may read. */
  readonly adminTokens: { readonly a: string; readonly b: string };
  /** An iteration of A's first task, one of B's task. */
  readonly iterations: { readonly a: string; readonly b: string };
}

/** The parts of an `@instantdb/admin` database the fixture uses. */
export interface AdminDb {
  readonly tx: any;
  transact(chunks: unknown): Promise<unknown>;
  query(q: Record<string, unknown>): Promise<Record<string, any[]>>;
  readonly auth: { createToken(email: string): Promise<string> };
}

/** Makes the world; `newId` makes entity ids (the SDK's `id`). */
export async function buildWorld(admin: AdminDb, newId: () => string): Promise<World> {
  const tokens = { a: await admin.auth.createToken('a@example.com'), b: await admin.auth.createToken('b@example.com') };
  const userId = async (email: string) => (await admin.query({ $users: { $: { where: { email } } } })).$users![0]!.id;
  const users = { a: await userId('a@example.com'), b: await userId('b@example.com') };
  const tasks = { a: newId(), a2: newId(), b: newId() };
  const databases = { a: newId(), b: newId() };
  const iterations = { a: newId(), b: newId() };
  const adminTokens = { a: `admin-token-${newId()}`, b: `admin-token-${newId()}` };
  const now = Date.now();
  const owned = (task: string, owner: string, title: string) =>
    admin.tx.tasks[task].update({ title, createdAt: now }).link({ owner });
  const ready = (record: string, task: string, token: string, name: string) => [
    admin.tx.databases[record].update({
      taskId: task,
      name,
      status: 'ready',
      instantAppId: newId(),
      adminToken: token,
      // A restore in progress: its new app's admin token is as secret as the live one.
      pendingAppId: newId(),
      pendingAdminToken: `pending-${token}`,
      leaseOwner: 'daemon-1',
      generation: 2,
      createdAt: now,
      readyAt: now,
    }),
    admin.tx.tasks[task].link({ mainDatabase: record }),
    admin.tx.databaseFences[newId()].update({ key: `${record}/1`, owner: 'daemon-1', createdAt: now }),
    admin.tx.databaseFences[newId()].update({ key: `${record}/2`, owner: 'daemon-1', createdAt: now }),
  ];
  await admin.transact([
    owned(tasks.a, users.a, 'task of A'),
    owned(tasks.a2, users.a, 'second task of A'),
    owned(tasks.b, users.b, 'task of B'),
    ...ready(databases.a, tasks.a, adminTokens.a, 'database-of-a'),
    ...ready(databases.b, tasks.b, adminTokens.b, 'database-of-b'),
    admin.tx.iterations[iterations.a].update({ createdAt: now }).link({ task: tasks.a }),
    admin.tx.iterations[iterations.b].update({ createdAt: now }).link({ task: tasks.b }),
  ]);
  return { users, tokens, tasks, databases, adminTokens, iterations };
}

/** Throws, naming what is missing, unless every piece of the world exists as built. */
export async function checkWorld(admin: AdminDb, world: World): Promise<void> {
  const missing: string[] = [];
  const { tasks, databases, databaseFences, iterations } = await admin.query({
    tasks: { owner: {}, mainDatabase: {} },
    databases: {},
    databaseFences: {},
    iterations: { task: {} },
  });
  const one = (x: any) => (Array.isArray(x) ? x[0] : x);
  const task = (id: string, owner: string) => {
    const t = tasks!.find((x) => x.id === id);
    if (one(t?.owner)?.id !== owner) missing.push(`task ${id} owned by ${owner}`);
    return t;
  };
  for (const [key, owner] of [
    ['a', world.users.a],
    ['a2', world.users.a],
    ['b', world.users.b],
  ] as const) {
    task(world.tasks[key], owner);
  }
  for (const side of ['a', 'b'] as const) {
    const record = databases!.find((d) => d.id === world.databases[side]);
    if (record?.status !== 'ready' || record.adminToken !== world.adminTokens[side])
      missing.push(`ready database ${side} with its admin token`);
    if (record?.pendingAdminToken !== `pending-${world.adminTokens[side]}`)
      missing.push(`database ${side}'s pending admin token`);
    if (one(tasks!.find((t) => t.id === world.tasks[side])?.mainDatabase)?.id !== world.databases[side])
      missing.push(`task ${side} linked to database ${side}`);
    if (!databaseFences!.some((f) => String(f.key).startsWith(`${world.databases[side]}/`)))
      missing.push(`fences of database ${side}`);
    const iteration = iterations!.find((i) => i.id === world.iterations[side]);
    if (one(iteration?.task)?.id !== world.tasks[side]) missing.push(`iteration of task ${side}`);
  }
  if (missing.length) throw new Error(`browser-eye world is incomplete: ${missing.join('; ')}`);
}
