import { id, init } from '@instantdb/admin';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { rejection, sandboxWithApp, stepClock } from './helpers.js';

let sandbox: Sandbox;
let db: Awaited<ReturnType<typeof sandboxWithApp>>['db'];
let app: { id: string; adminToken: string };

beforeEach(async () => {
  ({ sandbox, db, app } = await sandboxWithApp({ clock: stepClock() }));
});
afterEach(() => sandbox.close());

/** Creates a task per title, one transaction each, so serverCreatedAt follows the list. */
async function tasks(...titles: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, title] of titles.entries()) {
    const t = id();
    await db.transact(db.tx.tasks[t]!.update({ title, createdAt: 1_000 + i }));
    ids.push(t);
  }
  return ids;
}

function database(name: string, taskId: string, extra: Record<string, unknown> = {}) {
  return { name, taskId, status: 'provisioning', createdAt: '2025-01-02T03:04:05.678Z', ...extra };
}

describe('result shape', () => {
  test('entities carry id and stored attributes verbatim, nulls for unset indexed attributes, no serverCreatedAt', async () => {
    const [t] = await tasks('a');
    const d = id();
    await db.transact(db.tx.databases[d]!.update(database('db-1', t!, { attempts: 0 })));
    const { databases } = await db.query({ databases: {} });
    expect(databases).toEqual([
      {
        id: d,
        name: 'db-1',
        taskId: t,
        status: 'provisioning',
        attempts: 0,
        createdAt: '2025-01-02T03:04:05.678Z',
        instantAppId: null,
        leaseExpiresAt: null,
        detachedAt: null,
        ownerId: null,
      },
    ]);
  });

  test('has-one links: object or null with inference, bare id when not requested, reverse labels only on request', async () => {
    const [linked, unlinked] = await tasks('linked', 'unlinked');
    const d = id();
    const iteration = id();
    await db.transact([
      db.tx.iterations[iteration]!.update({}),
      db.tx.databases[d]!.update(database('db-1', linked!)).link({ originIteration: iteration }),
      db.tx.tasks[linked!]!.link({ mainDatabase: d }),
    ]);
    const plain = await db.query({ tasks: {}, databases: {} });
    expect(plain.tasks.map((t) => (t as Record<string, unknown>)['mainDatabase'] ?? 'absent')).toEqual([d, 'absent']);
    expect(plain.databases[0]).toMatchObject({ originIteration: iteration });
    expect(plain.databases[0]).not.toHaveProperty('task');

    const nested = await db.query({ tasks: { mainDatabase: {} }, iterations: { originatedDatabases: { task: {} } } });
    expect(nested.tasks[0]!.mainDatabase).toMatchObject({ id: d, name: 'db-1' });
    expect(nested.tasks[1]).toMatchObject({ id: unlinked, mainDatabase: null });
    expect(nested.iterations[0]!.originatedDatabases).toHaveLength(1);
    expect(nested.iterations[0]!.originatedDatabases[0]!.task).toMatchObject({ id: linked, mainDatabase: d });

    const noSchema = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
    const arrays = await noSchema.query({ tasks: { mainDatabase: {} } });
    expect(arrays.tasks.map((t) => (t['mainDatabase'] as unknown[]).length)).toEqual([1, 0]);
  });

  test('unknown namespaces and unknown where attributes yield empty arrays', async () => {
    await tasks('a');
    const noSchema = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
    expect(await noSchema.query({ nothingHere: {} })).toEqual({ nothingHere: [] });
    expect(await noSchema.query({ tasks: { $: { where: { nope: 1 } } } })).toEqual({ tasks: [] });
  });
});

describe('where', () => {
  test('equality, $in, $not/$ne (matching missing values), $isNull, comparisons, $like, and/or', async () => {
    const [a, b, c] = await tasks('alpha', 'beta', 'gamma');
    await db.transact(db.tx.tasks[c!]!.update({ title: null }));
    const titles = async (where: object) =>
      ((await db.query({ tasks: { $: { where } } } as never)) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(await titles({ title: 'alpha' })).toEqual([a]);
    expect(await titles({ id: b })).toEqual([b]);
    expect(await titles({ title: { $in: ['alpha', 'beta'] } })).toEqual([a, b]);
    expect(await titles({ title: { $not: 'alpha' } })).toEqual([b, c]);
    expect(await titles({ title: { $ne: 'beta' } })).toEqual([a, c]);
    expect(await titles({ title: { $isNull: true } })).toEqual([c]);
    expect(await titles({ title: { $isNull: false } })).toEqual([a, b]);
    expect(await titles({ createdAt: { $gt: 1_000 } })).toEqual([b, c]);
    expect(await titles({ createdAt: { $lte: 1_001 } })).toEqual([a, b]);
    expect(await titles({ title: { $like: '%ph%' } })).toEqual([a]);
    expect(await titles({ or: [{ title: 'alpha' }, { title: 'beta' }] })).toEqual([a, b]);
    // The SDK only lets $ilike through for indexed attributes; the server checks types, not indexes.
    const noSchema = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
    expect((await noSchema.query({ tasks: { $: { where: { title: { $ilike: 'BET_' } } } } })).tasks).toMatchObject([
      { id: b },
    ]);
    expect(await titles({ and: [{ title: { $isNull: false } }, { createdAt: { $gte: 1_001 } }] })).toEqual([b]);
  });

  test('$isNull on a link path matches unlinked tasks and tasks linked to a never-created id', async () => {
    const [linked, unlinked, dangling] = await tasks('linked', 'unlinked', 'dangling');
    const d = id();
    await db.transact([
      db.tx.databases[d]!.update(database('db-1', linked!)),
      db.tx.tasks[linked!]!.link({ mainDatabase: d }),
      db.tx.tasks[dangling!]!.link({ mainDatabase: id() }),
    ]);
    const q = async (where: object) =>
      ((await db.query({ tasks: { $: { where } } } as never)) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(await q({ 'mainDatabase.id': { $isNull: true } })).toEqual([unlinked, dangling]);
    expect(await q({ mainDatabase: { $isNull: true } })).toEqual([unlinked]);
    expect(await q({ 'mainDatabase.id': { $isNull: false } })).toEqual([linked]);
    expect(await q({ 'mainDatabase.status': 'provisioning' })).toEqual([linked]);
    expect(await q({ 'mainDatabase.id': d })).toEqual([linked]);
  });

  test('link paths from the reverse side', async () => {
    const [t] = await tasks('owner');
    const d = id();
    await db.transact([db.tx.databases[d]!.update(database('db-1', t!)).link({ task: t! })]);
    const { databases } = await db.query({ databases: { $: { where: { 'task.title': 'owner' } } } });
    expect(databases.map((x) => x.id)).toEqual([d]);
  });
});

test('fields selects attributes; first is limit', async () => {
  const [t] = await tasks('only');
  const { tasks: got } = await db.query({ tasks: { $: { fields: ['title'], first: 1 } } } as never);
  expect(got).toEqual([{ id: t, title: 'only' }]);
});

describe('order, limit, offset', () => {
  test('serverCreatedAt both ways, limit with offset, indexed attribute order', async () => {
    const ids = await tasks('t0', 't1', 't2', 't3', 't4');
    await db.transact(db.tx.tasks[ids[0]!]!.update({ createdAt: 9_999 }));
    const list = async (opts: object) =>
      ((await db.query({ tasks: { $: opts } } as never)) as { tasks: { id: string }[] }).tasks.map((t) => t.id);
    expect(await list({ limit: 2, order: { serverCreatedAt: 'asc' } })).toEqual(ids.slice(0, 2));
    expect(await list({ limit: 2, order: { serverCreatedAt: 'desc' } })).toEqual([ids[4], ids[3]]);
    expect(await list({ limit: 2, offset: 1 })).toEqual(ids.slice(1, 3));
    expect(await list({ order: { createdAt: 'desc' }, limit: 2 })).toEqual([ids[0], ids[4]]);
  });

  test('invalid order and limit are 400 validation-failed', async () => {
    const error = await rejection(db.query({ databases: { $: { order: { error: 'asc' } } } } as never));
    expect(error.status).toBe(400);
    expect(error.body.type).toBe('validation-failed');
    expect(error.message).toContain('The `databases.error` attribute is not indexed.');
    const limit = await rejection(db.query({ tasks: { $: { limit: 0 } } }));
    expect(limit.message).toContain('The limit field must be a positive integer. Got 0.');
  });
});
