import { id, init } from '@instantdb/admin';
import { PlatformApi } from '@instantdb/platform';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { rejection, schema } from './helpers.js';

let sandbox: Sandbox;
let api: PlatformApi;

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 11 });
  api = new PlatformApi({ auth: { token: sandbox.platformToken }, apiURI: sandbox.url });
});
afterEach(() => sandbox.close());

function platformFetch(path: string, init: RequestInit = {}, token = sandbox.platformToken) {
  return fetch(`${sandbox.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  });
}

describe('with PlatformApi', () => {
  test('create, list, get and delete', async () => {
    const { app } = await api.createApp({
      title: 'swift-blue-river',
      schema,
      perms: { databases: { allow: { $default: 'false' } } },
    });
    expect(app).toMatchObject({ title: 'swift-blue-river', orgId: null, adminToken: expect.any(String) });
    expect(app.createdAt).toBeInstanceOf(Date);
    expect(app.perms).toEqual({ databases: { allow: { $default: 'false' } } });
    expect(Object.keys(app.schema.entities).sort()).toEqual([
      '$users',
      'databaseFences',
      'databases',
      'iterations',
      'tasks',
    ]);

    expect((await api.getApps()).apps.map((a) => a.id)).toEqual([app.id]);
    expect((await api.getApp(app.id)).app).toMatchObject({ id: app.id, title: 'swift-blue-river' });
    await api.deleteApp(app.id);
    expect((await api.getApps()).apps).toEqual([]);
    const gone = await rejection(api.getApp(app.id));
    expect(gone.status).toBe(400);
    expect(gone.body).toMatchObject({ type: 'record-not-found', hint: { 'record-type': 'app' } });
    const again = await rejection(api.deleteApp(app.id));
    expect(again.body).toMatchObject({ type: 'record-not-found', message: 'Record not found: app' });
  });

  test('include flags add perms and the attribute catalogue', async () => {
    const { app } = await api.createApp({ title: 'with-perms', schema, perms: { tasks: { allow: { view: 'true' } } } });
    const listed = await api.getApps({ includePerms: true, includeSchema: true });
    expect(listed.apps[0]!.perms).toEqual({ tasks: { allow: { view: 'true' } } });
    expect(Object.keys(listed.apps[0]!.schema.entities['databases']!.attrs)).toContain('taskId');
    const got = await api.getApp(app.id, { includePerms: true, includeSchema: true });
    expect(got.app.schema.entities['databases']!.attrs['taskId']!.config).toMatchObject({
      unique: true,
      indexed: true,
    });
    expect(got.app.schema.links).toMatchObject({
      tasksMainDatabase: { forward: { on: 'tasks', has: 'one', label: 'mainDatabase' } },
    });
  });

  test('the created app is a working sandbox app for its admin token', async () => {
    const { app } = await api.createApp({ title: 'calm-green-cloud', schema });
    const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
    const t = id();
    await db.transact(db.tx.tasks[t]!.update({ createdAt: 1 }));
    expect((await db.query({ tasks: {} })).tasks).toEqual([{ id: t, createdAt: 1 }]);
    const missing = await rejection(db.transact(db.tx.tasks[id()]!.update({ title: 'no createdAt' })));
    expect(missing.body.type).toBe('validation-failed');
  });

  test('a schemaless app creates attributes on the fly', async () => {
    const { app } = await api.createApp({ title: 'bright-red-stone' });
    const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
    await db.transact(db.tx['things']![id()]!.update({ colour: 'red' }));
    expect((await db.query({ things: {} })).things).toEqual([{ id: expect.any(String), colour: 'red' }]);
  });

  test('a wrong platform token is 400 record-not-found instant-user', async () => {
    const wrong = new PlatformApi({ auth: { token: `per_${'0'.repeat(64)}` }, apiURI: sandbox.url });
    const error = await rejection(wrong.getApps());
    expect(error.status).toBe(400);
    expect(error.body).toMatchObject({
      type: 'record-not-found',
      message: 'Record not found: instant-user',
      hint: { 'record-type': 'instant-user' },
    });
  });
});

describe('on the wire', () => {
  test('create answers the app row, admin token, perms and empty catalogue', async () => {
    const res = await platformFetch('/superadmin/apps', {
      method: 'POST',
      body: JSON.stringify({ title: 'quiet-grey-hill' }),
    });
    expect(res.status).toBe(200);
    const { app } = (await res.json()) as { app: Record<string, unknown> };
    expect(app).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      creator_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      title: 'quiet-grey-hill',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      org_id: null,
      deletion_marked_at: null,
      status: 'active',
      subscription_id: null,
      magic_code_expiry_minutes: null,
      connection_string: null,
      'admin-token': expect.stringMatching(/^[0-9a-f-]{36}$/),
      perms: null,
      schema: { refs: {}, blobs: {} },
    });
    const list = (await (await platformFetch('/superadmin/apps')).json()) as { apps: Record<string, unknown>[] };
    expect(list.apps).toHaveLength(1);
    expect(list.apps[0]).not.toHaveProperty('admin-token');
    const got = (await (await platformFetch(`/superadmin/apps/${app['id']}`)).json()) as {
      app: Record<string, unknown>;
    };
    expect(got.app).toEqual(list.apps[0]);
    const deleted = (await (await platformFetch(`/superadmin/apps/${app['id']}`, { method: 'DELETE' })).json()) as {
      app: Record<string, unknown>;
    };
    expect(deleted.app['deletion_marked_at']).toEqual(expect.stringMatching(/Z$/));
  });

  test('parameter and token errors', async () => {
    const noTitle = await platformFetch('/superadmin/apps', { method: 'POST', body: '{}' });
    expect(noTitle.status).toBe(400);
    expect(await noTitle.json()).toMatchObject({
      type: 'param-missing',
      message: 'Missing parameter: ["body" "title"]',
    });

    const noAuth = await fetch(`${sandbox.url}/superadmin/apps`);
    expect(await noAuth.json()).toMatchObject({ type: 'param-missing', hint: { in: ['headers', 'authorization'] } });
    const malformed = await platformFetch('/superadmin/apps', {}, 'not-a-token');
    expect(await malformed.json()).toMatchObject({ type: 'param-malformed' });
    const adminToken = await platformFetch('/superadmin/apps', {}, id());
    expect(await adminToken.json()).toMatchObject({
      type: 'record-not-found',
      hint: { 'record-type': 'instant-user' },
    });

    const unknown = await platformFetch('/superadmin/nope');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: "Oops! We couldn't match this route." });
  });

  test('createApp takes the schema object, its JSON, or its JSON text', async () => {
    for (const form of [schema, JSON.parse(JSON.stringify(schema)), JSON.stringify(schema)]) {
      const app = sandbox.createApp({ title: 'forms', schema: form });
      const res = await platformFetch(`/superadmin/apps/${app.id}/schema`);
      const { schema: catalogue } = (await res.json()) as {
        schema: { blobs: Record<string, Record<string, unknown>> };
      };
      expect(Object.keys(catalogue.blobs['databases']!)).toContain('taskId');
    }
    expect(() => sandbox.createApp({ title: 'bad', schema: '{"entities": 3}' })).toThrow(
      /schema.entities must be an object/,
    );
  });

  test("an app's own admin token reads that app, and only that app", async () => {
    const a = sandbox.createApp({ title: 'a' });
    const b = sandbox.createApp({ title: 'b' });
    const own = await platformFetch(`/superadmin/apps/${a.id}`, {}, a.adminToken);
    expect(own.status).toBe(200);
    const other = await platformFetch(`/superadmin/apps/${b.id}`, {}, a.adminToken);
    expect(other.status).toBe(400);
    expect(((await other.json()) as { message: string }).message).toContain('This admin token does not belong to app');
  });
  test('the listing follows every create and delete (it is cached between changes)', async () => {
    const titles = async () =>
      ((await (await platformFetch('/superadmin/apps')).json()) as { apps: Array<{ title: string; id: string }> }).apps;
    const create = async (title: string) =>
      (
        (await (
          await platformFetch('/superadmin/apps', { method: 'POST', body: JSON.stringify({ title }) })
        ).json()) as {
          app: { id: string };
        }
      ).app.id;
    const first = await create('one-two-three');
    expect((await titles()).map((app) => app.title)).toEqual(['one-two-three']);
    expect((await titles()).map((app) => app.title)).toEqual(['one-two-three']); // served from the cache
    await create('four-five-six');
    expect((await titles()).map((app) => app.title)).toEqual(['one-two-three', 'four-five-six']);
    await platformFetch(`/superadmin/apps/${first}`, { method: 'DELETE' });
    expect((await titles()).map((app) => app.title)).toEqual(['four-five-six']);
    const withPerms = (await (await platformFetch('/superadmin/apps?include=perms')).json()) as {
      apps: Array<Record<string, unknown>>;
    };
    expect(withPerms.apps).toEqual([{ ...(await titles())[0], perms: null }]);
  });
});

describe('rename', () => {
  test('POST /superadmin/apps/:id with a title renames the app (the listing follows); as the server does, it answers a row count', async () => {
    const { app } = await api.createApp({ title: 'calm-blue-river' });
    const renamed = await platformFetch(`/superadmin/apps/${app.id}`, {
      method: 'POST',
      body: JSON.stringify({ title: 'calm-blue-river (replaced 2026-12-05)' }),
    });
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toEqual({ app: { 'next.jdbc/update-count': 1 } });
    expect((await api.getApp(app.id)).app.title).toBe('calm-blue-river (replaced 2026-12-05)');
    expect((await api.getApps()).apps.map((a) => a.title)).toEqual(['calm-blue-river (replaced 2026-12-05)']);
    // The platform SDK's updateApp sends the same request.
    await api.updateApp(app.id, { title: 'again' });
    expect((await api.getApp(app.id)).app.title).toBe('again');

    const blank = await platformFetch(`/superadmin/apps/${app.id}`, {
      method: 'POST',
      body: JSON.stringify({ title: ' ' }),
    });
    expect([blank.status, ((await blank.json()) as { type: string }).type]).toEqual([400, 'param-malformed']);
    const missing = await platformFetch(`/superadmin/apps/${id()}`, {
      method: 'POST',
      body: JSON.stringify({ title: 'x' }),
    });
    expect([missing.status, ((await missing.json()) as { type: string }).type]).toEqual([400, 'record-not-found']);
  });
});

describe('inspection', () => {
  test('lists every app ever created, deleted ones included, with how it was made', async () => {
    const main = sandbox.createApp({ title: 'main', schema });
    const { app } = await api.createApp({ title: 'short-lived' });
    await api.deleteApp(app.id);
    const expected = [
      { id: main.id, title: 'main', via: 'programmatic', deletedAt: null },
      { id: app.id, title: 'short-lived', via: 'platform', deletedAt: expect.any(String) },
    ];
    expect(sandbox.apps()).toMatchObject(expected);
    const res = await platformFetch('/__sandbox/apps');
    expect(((await res.json()) as { apps: unknown[] }).apps).toMatchObject(expected);
    const stats = (await (await platformFetch('/__sandbox/stats')).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ createRequests: 1, creates: 1, programmaticCreates: 1, deletes: 1 });
    expect(sandbox.stats()).toMatchObject({ creates: 1, deletes: 1 });
    const denied = await platformFetch('/__sandbox/apps', {}, `per_${'1'.repeat(64)}`);
    expect(denied.status).toBe(400);
  });
});

describe('seeding an account', () => {
  const twoDaysAgo = Date.UTC(2026, 10, 30, 12, 0, 0);

  test('POST /__sandbox/apps/seed makes old platform apps that the Platform API lists and opens', async () => {
    const res = await platformFetch('/__sandbox/apps/seed', {
      method: 'POST',
      body: JSON.stringify({ titles: ['swift-teal-river', 'calm-red-stone'], createdAt: twoDaysAgo }),
    });
    expect(res.status).toBe(200);
    const { apps } = (await res.json()) as { apps: Array<{ id: string; title: string; adminToken: string }> };
    expect(apps.map((app) => app.title)).toEqual(['swift-teal-river', 'calm-red-stone']);

    const listed = (await api.getApps()).apps;
    expect(listed.map((app) => [app.id, app.title, app.createdAt.getTime()])).toEqual(
      apps.map((app) => [app.id, app.title, twoDaysAgo]),
    );
    expect(sandbox.apps()).toMatchObject([{ via: 'platform', deletedAt: null }, { via: 'platform' }]);
    // Not creates: the counters measure the daemon's work.
    expect(sandbox.stats()).toMatchObject({ creates: 0, createRequests: 0 });

    // A seeded app is a whole app once opened: its own token writes and reads it.
    const db = init({ appId: apps[0]!.id, adminToken: apps[0]!.adminToken, apiURI: sandbox.url });
    const noteId = id();
    await db.transact(db.tx.notes![noteId]!.update({ text: 'hello' }));
    expect((await db.query({ notes: {} })).notes).toEqual([{ id: noteId, text: 'hello' }]);
    await api.deleteApp(apps[1]!.id);
    expect((await api.getApps()).apps.map((app) => app.id)).toEqual([apps[0]!.id]);
  });

  test('accepts an ISO time and refuses a bad body or token', async () => {
    const seed = (body: unknown, token?: string) =>
      platformFetch('/__sandbox/apps/seed', { method: 'POST', body: JSON.stringify(body) }, token);
    const iso = await seed({ titles: ['a-b-c'], createdAt: new Date(twoDaysAgo).toISOString() });
    expect(iso.status).toBe(200);
    expect(sandbox.apps()[0]!.createdAt).toBe(new Date(twoDaysAgo).toISOString());
    for (const body of [{ titles: 'a-b-c', createdAt: twoDaysAgo }, { titles: [''], createdAt: 1 }, { titles: [] }])
      expect((await seed(body)).status).toBe(400);
    expect((await seed({ titles: ['x'], createdAt: 1 }, `per_${'1'.repeat(64)}`)).status).toBe(400);
    expect(sandbox.apps()).toHaveLength(1);
  });
});
