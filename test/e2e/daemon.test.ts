/** The reconciler with its real adapters, the real SDK, and the sandbox. */
import { afterEach, describe, expect, it } from 'vitest';
import { InstantStore } from '../../src/store/instant-store.js';
import { connectMainDb } from '../../src/store/instant-db.js';
import { systemClock } from '../../src/clock.js';
import type { StoreError } from '../../src/errors.js';
import { audit, createTasks, eventually, provisioner, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

describe('daemon against the sandbox', () => {
  it('links tasks created as a browser would, and clients see provisioning then ready live', async () => {
    const w = (current = await world({ faults: { createLatency: 200 } }));
    const { provisioner: daemon } = provisioner(w);
    daemon.start();
    const statuses = new Set<string>();
    const sub = w.db.subscribeQuery({ tasks: { mainDatabase: {} } }, (payload) => {
      if (payload.type !== 'ok') return;
      for (const task of payload.data.tasks) if (task.mainDatabase) statuses.add(String(task.mainDatabase.status));
    });
    await createTasks(w.db, 20);
    await eventually(async () => (await audit(w)).problems.length === 0);
    sub.close();
    await daemon.stop();

    expect(await audit(w)).toMatchObject({ tasks: 20, records: 20, apps: 20, live: 20, problems: [] });
    expect([...statuses].sort()).toEqual(['provisioning', 'ready']);
    const { databases } = await w.db.query({ databases: {} });
    expect(databases.every((record) => /^[a-z]+-[a-z]+-[a-z]+$/.test(record.name))).toBe(true);
  });

  it('catches up after its subscription streams are dropped', async () => {
    const w = (current = await world({ faults: { sseDropEvery: 300 } }));
    const { provisioner: daemon } = provisioner(w);
    daemon.start();
    for (let round = 0; round < 5; round++) {
      await createTasks(w.db, 10);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await eventually(async () => (await audit(w)).problems.length === 0);
    await daemon.stop();
    expect(w.sandbox.stats().faults.sseDrop).toBeGreaterThan(0);
    expect(await audit(w)).toMatchObject({ tasks: 50, live: 50, problems: [] });
  });

  it('stops watching on stop: no subscription stays open', async () => {
    const w = (current = await world());
    const { provisioner: daemon } = provisioner(w);
    daemon.start();
    await eventually(() => w.sandbox.stats().openSubscriptions === 4);
    await daemon.stop();
    await eventually(() => w.sandbox.stats().openSubscriptions === 0);
  });
});

/** The daemon's store adapter on the world's main app, through the real SDK. */
function storeFor(w: World): InstantStore {
  return new InstantStore({
    db: connectMainDb({ appId: w.appId, adminToken: w.env.INSTANT_ADMIN_TOKEN!, apiUri: w.sandbox.url }),
    clock: systemClock,
    timeoutMs: 5_000,
  });
}

/** Claims every task at once for owner `a`, each with its own record id and a name from `prefix`. */
function claimAtOnce(store: InstantStore, taskIds: string[], prefix: string): Promise<void>[] {
  return taskIds.map((taskId, i) =>
    store.claim({
      taskId,
      recordId: `0b6f3b5e-2222-4a2b-9c3d-00000000000${i}`,
      name: `${prefix}-name-${i}`,
      owner: 'a',
      now: Date.now(),
      leaseExpiresAt: Date.now() + 60_000,
      createdVia: 'server-id',
      app: null,
      apiUri: 'http://127.0.0.1',
      ownerId: null,
      originIterationId: null,
      refusedBecause: null,
    }),
  );
}

describe('main-app store over the SDK', () => {
  it('fences writes with a unique key: of two writers at one generation, the second fails', async () => {
    const w = (current = await world());
    const store = storeFor(w);
    const [taskId] = await createTasks(w.db, 1);
    const recordId = '0b6f3b5e-1111-4a2b-9c3d-000000000001';
    await store.claim({
      taskId: taskId!,
      recordId,
      name: 'calm-red-heron',
      owner: 'a',
      now: Date.now(),
      leaseExpiresAt: Date.now() + 60_000,
      createdVia: 'server-id',
      app: null,
      apiUri: 'http://127.0.0.1',
      ownerId: null,
      originIterationId: null,
      refusedBecause: null,
    });
    const version = { id: recordId, taskId: taskId!, generation: 1 };
    await store.update(version, 'a', { attempts: 1 });
    await expect(store.update(version, 'b', { attempts: 2 })).rejects.toMatchObject({
      kind: 'unique-violation',
      etype: 'databaseFences',
      label: 'key',
    });
    await expect(
      store.claim({
        taskId: taskId!,
        recordId: '0b6f3b5e-1111-4a2b-9c3d-000000000002',
        name: 'other-name-here',
        owner: 'b',
        now: Date.now(),
        leaseExpiresAt: 0,
        createdVia: 'server-id',
        app: null,
        apiUri: 'http://127.0.0.1',
        ownerId: null,
        originIterationId: null,
        refusedBecause: null,
      }),
    ).rejects.toMatchObject({
      kind: 'unique-violation',
      etype: 'databases',
      label: 'taskId',
    });
    const state = await store.loadTask(taskId!);
    expect(state).toMatchObject({
      task: { id: taskId, mainDatabaseId: recordId },
      record: { id: recordId, attempts: 1, generation: 2, leaseOwner: 'a' },
    });
  });

  it('a write that needs the task fails as missing once the task is deleted, and changes nothing', async () => {
    const w = (current = await world());
    const store = storeFor(w);
    const [taskId] = await createTasks(w.db, 1);
    const recordId = '0b6f3b5e-1111-4a2b-9c3d-000000000003';
    await store.claim({
      taskId: taskId!,
      recordId,
      name: 'calm-red-heron',
      owner: 'a',
      now: Date.now(),
      leaseExpiresAt: 0,
      createdVia: 'server-id',
      app: null,
      apiUri: 'http://127.0.0.1',
      ownerId: null,
      originIterationId: null,
      refusedBecause: null,
    });
    await w.db.transact(w.db.tx.tasks[taskId!]!.delete());
    await expect(
      store.update({ id: recordId, taskId: taskId!, generation: 1 }, 'a', { status: 'ready' }, { requireTask: true }),
    ).rejects.toMatchObject({ kind: 'missing-entity' });
    const { databases } = await w.db.query({ databases: {} });
    expect(databases[0]).toMatchObject({ status: 'provisioning', generation: 1 });
    await expect(
      store.claim({
        taskId: taskId!,
        recordId: '0b6f3b5e-1111-4a2b-9c3d-000000000004',
        name: 'n-2',
        owner: 'a',
        now: 0,
        leaseExpiresAt: 0,
        createdVia: 'server-id',
        app: null,
        apiUri: 'http://127.0.0.1',
        ownerId: null,
        originIterationId: null,
        refusedBecause: null,
      }),
    ).rejects.toMatchObject({
      kind: 'unique-violation',
    });
  });

  it('claims that queue up share one transaction; one whose task is gone fails alone, the rest are claimed', async () => {
    const w = (current = await world());
    const store = storeFor(w);
    const taskIds = await createTasks(w.db, 6);
    const gone = taskIds[3]!;
    await w.db.transact(w.db.tx.tasks[gone]!.delete());
    const transactsBefore = w.sandbox.stats().transacts;
    const outcomes = await Promise.allSettled(claimAtOnce(store, taskIds, 'group'));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? 'ok' : (o.reason as StoreError).kind))).toEqual([
      'ok',
      'ok',
      'ok',
      'missing-entity',
      'ok',
      'ok',
    ]);
    // The first went alone; the five behind it as one group, refused, then one by one.
    // The sandbox counts what committed: neither the refused group nor the refused claim.
    expect(w.sandbox.stats().transacts - transactsBefore).toBe(1 + 4);
    expect(store.commitStats).toEqual({ writes: 6, transactions: 7 });
    const { tasks } = await w.db.query({ tasks: { mainDatabase: {} } });
    const linked = Object.fromEntries(tasks.map((task) => [task.id, task.mainDatabase?.id ?? null]));
    expect(taskIds.filter((id) => id !== gone).every((id) => linked[id] !== null)).toBe(true);
    expect(Object.keys(linked)).toHaveLength(5);
    const { databases } = await w.db.query({ databases: {} });
    expect(databases.map((record) => record.taskId).sort()).toEqual(taskIds.filter((id) => id !== gone).sort());
  });

  it('claims that queue up and all commit cost one transaction between them', async () => {
    const w = (current = await world());
    const store = storeFor(w);
    const taskIds = await createTasks(w.db, 8);
    const transactsBefore = w.sandbox.stats().transacts;
    await Promise.all(claimAtOnce(store, taskIds, 'batch'));
    expect(w.sandbox.stats().transacts - transactsBefore).toBe(2);
    const { databases } = await w.db.query({ databases: {} });
    expect(databases).toHaveLength(8);
  });
});
