import { id, init } from '@instantdb/admin';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { mulberry32 } from '../../src/sandbox/rng.js';
import { sandboxWithApp, stepClock } from './helpers.js';

let sandbox: Sandbox;
let db: Awaited<ReturnType<typeof sandboxWithApp>>['db'];
let app: { id: string; adminToken: string };
const subs: { close(): void }[] = [];

beforeEach(async () => {
  ({ sandbox, db, app } = await sandboxWithApp({ clock: stepClock() }));
});
afterEach(async () => {
  for (const sub of subs.splice(0)) sub.close();
  await sandbox.close();
});

const unlinkedTasks = {
  tasks: { $: { where: { 'mainDatabase.id': { $isNull: true } }, limit: 256, order: { serverCreatedAt: 'asc' } } },
} as const;
const provisioning = {
  databases: { $: { where: { status: 'provisioning' }, limit: 256, order: { serverCreatedAt: 'asc' } } },
} as const;

type Payload = { type: string; data?: any; error?: any; isClosed?: boolean; readyState?: string };

/** Subscribes and records every payload. */
function watch(query: object, client: unknown = db) {
  const payloads: Payload[] = [];
  const subscribe = (client as { subscribeQuery(q: unknown, cb: (p: Payload) => void): { close(): void } })
    .subscribeQuery;
  const sub = subscribe.call(client, query, (p) => payloads.push(p));
  subs.push(sub);
  return { payloads, sub, last: () => payloads[payloads.length - 1]! };
}

const waitFor = (check: () => void) => vi.waitFor(check, { timeout: 5_000, interval: 10 });
const ids = (p: Payload, ns: string) => (p.data[ns] as { id: string }[]).map((e) => e.id);

function database(name: string, taskId: string, status = 'provisioning') {
  return { name, taskId, status, createdAt: 1 };
}

describe('refresh-ok', () => {
  test('pushes a fresh snapshot when the result changes, and nothing for writes that do not change it', async () => {
    const [t1, t2] = [id(), id()];
    await db.transact([db.tx.tasks[t1]!.update({ createdAt: 1 }), db.tx.tasks[t2]!.update({ createdAt: 2 })]);
    const d0 = id();
    await db.transact(db.tx.databases[d0]!.update(database('db-0', id())));
    const w = watch(unlinkedTasks);
    await waitFor(() => expect(w.payloads).toHaveLength(1));
    expect(ids(w.payloads[0]!, 'tasks')).toEqual([t1, t2]);

    const before = sandbox.stats().recomputes;
    await db.transact(db.tx.databases[d0]!.update({ status: 'ready' })); // databases.status: not a dependency
    await db.transact(db.tx.databaseFences[id()]!.update({ key: 'k', owner: 'o', createdAt: 1 })); // other namespace
    const d1 = id();
    await db.transact([db.tx.databases[d1]!.update(database('db-1', t1)), db.tx.tasks[t1]!.link({ mainDatabase: d1 })]);
    await waitFor(() => expect(w.payloads).toHaveLength(2));
    expect(ids(w.last(), 'tasks')).toEqual([t2]);
    expect(sandbox.stats().recomputes - before).toBe(1);

    await db.transact(db.tx.tasks[t1]!.update({ title: 'linked, so not in the result' })); // recomputed, unchanged
    await db.transact(db.tx.tasks[t2]!.update({ title: 'visible' }));
    await waitFor(() => expect(w.payloads).toHaveLength(3));
    expect(w.last().data.tasks).toEqual([{ id: t2, createdAt: 2, title: 'visible' }]);
  });

  test('a status subscription follows status changes through the index', async () => {
    const w = watch(provisioning);
    await waitFor(() => expect(w.payloads).toHaveLength(1));
    const d = id();
    await db.transact(db.tx.databases[d]!.update(database('db-1', id())));
    await waitFor(() => expect(ids(w.last(), 'databases')).toEqual([d]));
    await db.transact(db.tx.databases[d]!.update({ status: 'ready' }));
    await waitFor(() => expect(ids(w.last(), 'databases')).toEqual([]));
    expect(w.payloads).toHaveLength(3);
    expect(w.last().data).toEqual({ databases: [] });
  });
});

describe('stream lifecycle', () => {
  test('a dropped stream reconnects after retry:500 and delivers a fresh snapshot', async () => {
    const w = watch(unlinkedTasks);
    await waitFor(() => expect(w.payloads).toHaveLength(1));
    sandbox.faults.set({ sseDropEvery: 50 });
    await waitFor(() => expect(sandbox.stats().faults.sseDrop).toBeGreaterThan(0));
    sandbox.faults.set({ sseDropEvery: 0 });
    const t = id();
    await db.transact(db.tx.tasks[t]!.update({ createdAt: 1 }));
    await waitFor(() => expect(ids(w.last(), 'tasks')).toEqual([t]));
    expect(w.payloads.every((p) => p.type === 'ok')).toBe(true);
    expect(sandbox.stats().subscribes).toBeGreaterThanOrEqual(2);
  });

  test('a wrong admin token on subscribe is a terminal 400 that closes the SDK subscription', async () => {
    const wrong = init({ appId: app.id, adminToken: id(), apiURI: sandbox.url });
    const w = watch(unlinkedTasks, wrong);
    await waitFor(() => expect(w.payloads).toHaveLength(1));
    expect(w.payloads[0]).toMatchObject({ type: 'error', isClosed: true });
    expect(w.payloads[0]!.error.body).toMatchObject({
      type: 'record-not-found',
      hint: { 'record-type': 'app-admin-token' },
    });
    expect(w.sub).toMatchObject({ isClosed: true });
  });

  test('a query the server rejects arrives as an in-stream error; the stream stays open', async () => {
    const noSchema = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
    const w = watch({ databases: { $: { order: { error: 'asc' } } } }, noSchema);
    await waitFor(() => expect(w.payloads).toHaveLength(1));
    expect(w.payloads[0]).toMatchObject({ type: 'error', readyState: 'open', isClosed: false });
    expect(w.payloads[0]!.error.status).toBe(400);
    expect(w.payloads[0]!.error.message).toContain('is not indexed');

    // A failed query is never recomputed: later writes bring neither data nor repeated errors.
    const other = watch(provisioning);
    await waitFor(() => expect(other.payloads).toHaveLength(1));
    await db.transact(db.tx.databases[id()]!.update(database('db-1', id())));
    await waitFor(() => expect(other.payloads).toHaveLength(2));
    expect(w.payloads).toHaveLength(1);
  });
});

describe('incremental recomputation', () => {
  test('matches a fresh query after every batch of random writes', async () => {
    const random = mulberry32(7);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
    const small = {
      tasks: { $: { where: { 'mainDatabase.id': { $isNull: true } }, limit: 5, order: { serverCreatedAt: 'asc' } } },
    };
    const newest = {
      tasks: { $: { where: { mainDatabase: { $isNull: true } }, limit: 3, order: { serverCreatedAt: 'desc' } } },
    };
    const queries = [
      small,
      newest,
      provisioning,
      { tasks: { $: { where: { 'mainDatabase.status': 'ready' } }, mainDatabase: {} } },
    ];
    const watchers = queries.map((q) => watch(q));
    const taskIds: string[] = [];
    const dbIds: string[] = [];
    let n = 0;
    const randomWrite = () => {
      const roll = random();
      if (roll < 0.3 || !taskIds.length) {
        const t = id();
        taskIds.push(t);
        return db.tx.tasks[t]!.update({ createdAt: n++ });
      }
      if (roll < 0.55) {
        const d = id();
        dbIds.push(d);
        return [
          db.tx.databases[d]!.update(database(`db-${n++}`, id(), pick(['provisioning', 'ready']))),
          db.tx.tasks[pick(taskIds)]!.link({ mainDatabase: d }),
        ];
      }
      if (roll < 0.65) return db.tx.tasks[pick(taskIds)]!.link({ mainDatabase: id() }); // dangling
      if (roll < 0.75 && dbIds.length) return db.tx.databases[pick(dbIds)]!.delete();
      if (roll < 0.85 && dbIds.length)
        return db.tx.databases[pick(dbIds)]!.update({ status: pick(['provisioning', 'ready']) });
      if (roll < 0.92) return db.tx.tasks[pick(taskIds)]!.delete();
      return db.tx.tasks[pick(taskIds)]!.update({ title: `t${n++}` });
    };
    for (let batch = 0; batch < 25; batch++) {
      // Several transactions at once, so some land in the same tick and are coalesced.
      await Promise.all(Array.from({ length: 6 }, () => db.transact(randomWrite() as never).catch(() => undefined)));
      for (const [i, w] of watchers.entries()) {
        const fresh = await db.query(queries[i] as never);
        await waitFor(() => expect(w.last().data).toEqual(fresh));
      }
    }
  });
});
