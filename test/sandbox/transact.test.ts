import { i, id, init, lookup } from '@instantdb/admin';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { adminPost, rejection, sandboxWithApp, stepClock } from './helpers.js';

let sandbox: Sandbox;
let db: Awaited<ReturnType<typeof sandboxWithApp>>['db'];
let app: { id: string; adminToken: string };

beforeEach(async () => {
  ({ sandbox, db, app } = await sandboxWithApp({ clock: stepClock() }));
});
afterEach(() => sandbox.close());

function database(name: string, taskId: string, extra: Record<string, unknown> = {}) {
  return { name, taskId, status: 'provisioning', createdAt: Date.UTC(2025, 0, 2), ...extra };
}

async function newTask(): Promise<string> {
  const t = id();
  await db.transact(db.tx.tasks[t]!.update({ createdAt: Date.now() }));
  return t;
}

async function everything() {
  return db.query({ tasks: { mainDatabase: {} }, databases: { task: {} }, databaseFences: {} });
}

test('a transaction answers {tx-id} with increasing integers', async () => {
  const first = await db.transact(db.tx.tasks[id()]!.update({ createdAt: 1 }));
  const second = await db.transact(db.tx.tasks[id()]!.update({ createdAt: 2 }));
  expect(first).toEqual({ 'tx-id': expect.any(Number) });
  expect(second['tx-id']).toBeGreaterThan(first['tx-id']);
});

describe('constraints', () => {
  test('a unique violation is 400 record-not-unique with the server message and hint', async () => {
    const t1 = await newTask();
    const t2 = await newTask();
    await db.transact(db.tx.databases[id()]!.update(database('db-1', t1)));
    const error = await rejection(db.transact(db.tx.databases[id()]!.update(database('db-1', t2))));
    expect(error.status).toBe(400);
    expect(error.body).toMatchObject({
      type: 'record-not-unique',
      message:
        '`name` is a unique attribute on `databases` and an entity already exists with `databases.name` = "db-1"',
      hint: {
        'record-type': 'triple',
        etype: 'databases',
        label: 'name',
        value: '"db-1"',
        'attr-id': expect.any(String),
      },
    });
    const taken = await rejection(db.transact(db.tx.databases[id()]!.update(database('db-2', t1))));
    expect(taken.body.hint).toMatchObject({ etype: 'databases', label: 'taskId', value: JSON.stringify(t1) });
  });

  test('missing required attributes are 400 validation-failed naming each one', async () => {
    const d = id();
    const error = await rejection(db.transact(db.tx.databases[d]!.update({ name: 'db-1', taskId: id() })));
    expect(error.status).toBe(400);
    expect(error.body.type).toBe('validation-failed');
    expect(error.message).toBe(
      `Missing required attribute \`databases/status\`: ${d}. Missing required attribute \`databases/createdAt\`: ${d}`,
    );
    expect(error.body.hint.records).toHaveLength(2);
    expect((await everything()).databases).toEqual([]);
  });

  test('typed attributes refuse values of another type', async () => {
    const raw = await adminPost(sandbox, '/admin/transact', app.id, app.adminToken, {
      steps: [['update', 'databases', id(), { ...database('db-1', id()), attempts: 'three' }]],
      'throw-on-missing-attrs?': true,
    });
    expect(raw.status).toBe(400);
    expect(raw.body['message']).toBe(
      'Invalid value type for databases.attempts. Value must be a number but the provided value type is string.',
    );
  });
});

describe('links', () => {
  test('linking a task to a new database replaces the old link', async () => {
    const t = await newTask();
    const [d1, d2] = [id(), id()];
    await db.transact([db.tx.databases[d1]!.update(database('db-1', t)), db.tx.tasks[t]!.link({ mainDatabase: d1 })]);
    await db.transact([
      db.tx.databases[d2]!.update(database('db-2', id())),
      db.tx.tasks[t]!.link({ mainDatabase: d2 }),
    ]);
    const { tasks, databases } = await everything();
    expect(tasks[0]!.mainDatabase?.id).toBe(d2);
    expect(databases.find((d) => d.id === d1)!.task).toBeNull();
  });

  test('a database cannot get a second task, from either side (one-to-one)', async () => {
    const [t1, t2] = [await newTask(), await newTask()];
    const d = id();
    await db.transact([db.tx.databases[d]!.update(database('db-1', t1)), db.tx.tasks[t1]!.link({ mainDatabase: d })]);
    for (const tx of [db.tx.tasks[t2]!.link({ mainDatabase: d }), db.tx.databases[d]!.link({ task: t2 })]) {
      const error = await rejection(db.transact(tx));
      expect(error.status).toBe(400);
      expect(error.body).toMatchObject({
        type: 'record-not-unique',
        message: `\`mainDatabase\` is a unique attribute on \`tasks\` and an entity already exists with \`tasks.mainDatabase\` = "${d}"`,
        hint: { etype: 'tasks', label: 'mainDatabase', value: JSON.stringify(d) },
      });
    }
    const { databases } = await everything();
    expect(databases[0]!.task?.id).toBe(t1);
  });

  test('create and link in one transaction is atomic: a failing step applies nothing', async () => {
    const [t1, t2] = [await newTask(), await newTask()];
    await db.transact(db.tx.databases[id()]!.update(database('taken', t1)));
    const d = id();
    const error = await rejection(
      db.transact([db.tx.databases[d]!.update(database('taken', t2)), db.tx.tasks[t2]!.link({ mainDatabase: d })]),
    );
    expect(error.body.type).toBe('record-not-unique');
    const after = await everything();
    expect(after.databases.map((x) => x.name)).toEqual(['taken']);
    expect(after.tasks.every((t) => t.mainDatabase === null)).toBe(true);

    const ok = id();
    await db.transact([
      db.tx.databases[ok]!.update(database('fresh', t2)),
      db.tx.tasks[t2]!.link({ mainDatabase: ok }),
    ]);
    expect((await everything()).tasks.find((t) => t.id === t2)!.mainDatabase?.id).toBe(ok);
  });

  test('delete removes the entity and every link pointing at it', async () => {
    const t = await newTask();
    const d = id();
    await db.transact([db.tx.databases[d]!.update(database('db-1', t)), db.tx.tasks[t]!.link({ mainDatabase: d })]);
    await db.transact(db.tx.databases[d]!.delete());
    const after = await db.query({ tasks: {}, databases: {} });
    expect(after.databases).toEqual([]);
    expect(after.tasks[0]).not.toHaveProperty('mainDatabase');
    await db.transact(db.tx.databases[d]!.delete()); // deleting a missing entity is a no-op
  });

  test("onDelete: 'cascade' deletes the linked entities too", async () => {
    const cascading = i.schema({
      entities: { owners: i.entity({ name: i.string() }), pets: i.entity({ name: i.string() }) },
      links: {
        ownerPets: {
          forward: { on: 'pets', has: 'one', label: 'owner', onDelete: 'cascade' },
          reverse: { on: 'owners', has: 'many', label: 'pets' },
        },
      },
      rooms: {},
    });
    const other = sandbox.createApp({ title: 'pets', schema: cascading });
    const pets = init({ appId: other.id, adminToken: other.adminToken, apiURI: sandbox.url, schema: cascading });
    const [owner, rex, tom] = [id(), id(), id()];
    await pets.transact([
      pets.tx.owners[owner]!.update({ name: 'ann' }),
      pets.tx.pets[rex]!.update({ name: 'rex' }).link({ owner }),
      pets.tx.pets[tom]!.update({ name: 'tom' }),
    ]);
    await pets.transact(pets.tx.owners[owner]!.delete());
    expect((await pets.query({ owners: {}, pets: {} })).pets.map((p) => p.name)).toEqual(['tom']);
  });

  test('a forward link label in update args links, as on the server', async () => {
    const t = await newTask();
    const d = id();
    await db.transact(db.tx.databases[d]!.update(database('db-1', t)));
    const raw = await adminPost(sandbox, '/admin/transact', app.id, app.adminToken, {
      steps: [['update', 'tasks', t, { mainDatabase: d.toUpperCase() }]],
      'throw-on-missing-attrs?': true,
    });
    expect(raw.status).toBe(200);
    expect((await everything()).tasks[0]!.mainDatabase?.id).toBe(d);
  });

  test('unlink removes one link', async () => {
    const t = await newTask();
    const d = id();
    await db.transact([db.tx.databases[d]!.update(database('db-1', t)), db.tx.tasks[t]!.link({ mainDatabase: d })]);
    await db.transact(db.tx.tasks[t]!.unlink({ mainDatabase: d }));
    expect((await everything()).tasks[0]!.mainDatabase).toBeNull();
  });
});

describe('lookups', () => {
  test('an id-slot lookup updates the entity holding the value, or creates one', async () => {
    const t = await newTask();
    const d = id();
    await db.transact(db.tx.databases[d]!.update(database('db-1', t)));
    await db.transact(db.tx.databases[lookup('taskId', t)]!.update({ status: 'ready' }));
    const other = id();
    await db.transact(db.tx.databases[lookup('taskId', other)]!.update(database('db-2', other)));
    const { databases } = await everything();
    expect(databases.map((x) => [x.taskId, x.status])).toEqual([
      [t, 'ready'],
      [other, 'provisioning'],
    ]);
  });

  test('a link value lookup finds existing entities, not ones created by id in the same request', async () => {
    const t = await newTask();
    const d = id();
    await db.transact(db.tx.databases[d]!.update(database('db-1', t)));
    await db.transact(db.tx.tasks[t]!.link({ mainDatabase: lookup('taskId', t) }));
    expect((await everything()).tasks[0]!.mainDatabase?.id).toBe(d);

    const t2 = await newTask();
    const error = await rejection(
      db.transact([
        db.tx.databases[id()]!.update(database('db-2', t2)),
        db.tx.tasks[t2]!.link({ mainDatabase: lookup('taskId', t2) }),
      ]),
    );
    expect(error.message).toBe('Validation failed for lookup: The entity for the lookup does not exist.');
  });

  test('a lookup on id finds the entity itself', async () => {
    const t = await newTask();
    await db.transact(db.tx.tasks[lookup('id', t)]!.update({ title: 'found' }));
    expect((await db.query({ tasks: {} })).tasks).toEqual([{ id: t, createdAt: expect.any(Number), title: 'found' }]);
  });

  test('a lookup on a non-unique attribute is refused', async () => {
    const error = await rejection(db.transact(db.tx.databases[lookup('status', 'ready')]!.update({ error: 'x' })));
    expect(error.message).toBe('Validation failed for lookup: status is not a unique attribute on databases');
  });
});

describe('modes and merge', () => {
  test('create refuses an existing entity; update with upsert:false refuses a missing one', async () => {
    const t = await newTask();
    const exists = await rejection(db.transact(db.tx.tasks[t]!.create({ createdAt: 1 })));
    expect(exists.message).toBe(`Validation failed for tx-step: Creating entities that exist: ${t}`);
    const missing = id();
    const absent = await rejection(db.transact(db.tx.tasks[missing]!.update({ createdAt: 1 }, { upsert: false })));
    expect(absent.message).toContain("Updating entities that don't exist");
  });

  test('merge deep-merges objects and drops keys set to null', async () => {
    const noSchema = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
    const e = id();
    await noSchema.transact(noSchema.tx['notes']![e]!.update({ meta: { a: 1, b: { c: 2, d: 3 } } }));
    await noSchema.transact(noSchema.tx['notes']![e]!.merge({ meta: { b: { c: 20, d: null }, e: 5 } }));
    const { notes } = await noSchema.query({ notes: {} });
    expect(notes![0]).toEqual({ id: e, meta: { a: 1, b: { c: 20 }, e: 5 } });
  });
});

describe('attributes missing from the schema', () => {
  test('with throw-on-missing-attrs? they are refused, without it they are created', async () => {
    const body = (flag: boolean) => ({
      steps: [['update', 'widgets', id(), { colour: 'red' }]],
      'throw-on-missing-attrs?': flag,
    });
    const refused = await adminPost(sandbox, '/admin/transact', app.id, app.adminToken, body(true));
    expect(refused.status).toBe(400);
    expect(refused.body['message']).toBe('Validation failed for steps: Attributes are missing in your schema');
    expect(refused.body['hint'].errors[0].hint.attributes).toEqual(['widgets.id', 'widgets.colour']);
    const created = await adminPost(sandbox, '/admin/transact', app.id, app.adminToken, body(false));
    expect(created.status).toBe(200);
    const noSchema = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
    expect((await noSchema.query({ widgets: { $: { where: { colour: 'red' } } } })).widgets).toHaveLength(1);
  });
});
