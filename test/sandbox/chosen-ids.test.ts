/**
 * `POST /dash/apps` (the dashboard's create, which instant-cli uses): the caller chooses the app's id
 * and admin token. Checked in the server's order (dash/routes.clj apps-post): the token, then the
 * sign-up stage, then the parameters; so an empty body tells whether the route is open without
 * creating anything. Also Instant Cloud's refusal, and apps owned by the organisation.
 */
import { randomUUID } from 'node:crypto';
import { init } from '@instantdb/admin';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { HttpPlatformClient } from '../../src/platform/http-platform-client.js';
import { systemClock } from '../../src/clock.js';
import { lockedTemplate } from '../../src/template/app-template.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { schema } from './helpers.js';

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await startSandbox({ seed: 17 });
});
afterEach(() => sandbox.close());

async function post(path: string, body: unknown, token = sandbox.platformToken) {
  const res = await fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const signal = () => AbortSignal.timeout(5_000);
const client = (orgId?: string) =>
  new HttpPlatformClient({ apiUri: sandbox.url, token: sandbox.platformToken, clock: systemClock, orgId });

describe('POST /dash/apps', () => {
  test('creates the app with the id and token we chose, its rules (rules.code) and schema', async () => {
    const id = randomUUID();
    const adminToken = randomUUID();
    const perms = { $default: { allow: { $default: 'false' } } };
    const { status, body } = await post('/dash/apps', {
      title: 'calm-red-heron',
      id,
      admin_token: adminToken,
      rules: { code: perms },
      schema,
    });
    expect(status).toBe(200);
    expect(body.app).toMatchObject({ id, title: 'calm-red-heron', 'admin-token': adminToken });
    // The app is real: its admin token reads it, with the schema applied.
    const db = init({ appId: id, adminToken, apiURI: sandbox.url, schema });
    expect(await db.query({ tasks: {} })).toEqual({ tasks: [] });
    const rules = await fetch(`${sandbox.url}/superadmin/apps/${id}/perms`, {
      headers: { authorization: `Bearer ${sandbox.platformToken}` },
    });
    expect(await rules.json()).toEqual({ perms });
  });

  test('an id once used is taken for good: record-not-unique, even after a delete', async () => {
    const id = randomUUID();
    expect((await post('/dash/apps', { title: 'a', id, admin_token: randomUUID() })).status).toBe(200);
    const again = await post('/dash/apps', { title: 'a', id, admin_token: randomUUID() });
    expect(again).toMatchObject({ status: 400, body: { type: 'record-not-unique', hint: { 'record-type': 'apps' } } });
    await fetch(`${sandbox.url}/superadmin/apps/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${sandbox.platformToken}` },
    });
    expect((await post('/dash/apps', { title: 'a', id, admin_token: randomUUID() })).body.type).toBe(
      'record-not-unique',
    );
  });

  test("a live app's admin token is taken; once the app is deleted the token opens nothing and is free", async () => {
    const adminToken = randomUUID();
    const first = randomUUID();
    expect((await post('/dash/apps', { title: 'a', id: first, admin_token: adminToken })).status).toBe(200);
    const taken = await post('/dash/apps', { title: 'b', id: randomUUID(), admin_token: adminToken });
    expect(taken).toMatchObject({ status: 400, body: { type: 'record-not-unique' } });
    await fetch(`${sandbox.url}/superadmin/apps/${first}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${sandbox.platformToken}` },
    });
    const byToken = await fetch(`${sandbox.url}/superadmin/apps/${first}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(byToken.status).toBe(400);
    const second = randomUUID();
    expect((await post('/dash/apps', { title: 'c', id: second, admin_token: adminToken })).status).toBe(200);
    const reads = await fetch(`${sandbox.url}/superadmin/apps/${second}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(reads.status).toBe(200);
  });

  test('the token first, then the sign-up stage, then title, id and admin_token in that order', async () => {
    expect((await post('/dash/apps', {}, 'per_' + '0'.repeat(64))).body).toMatchObject({
      type: 'record-not-found',
      hint: { 'record-type': 'instant-user' },
    });
    expect((await post('/dash/apps', {})).body).toMatchObject({
      type: 'param-missing',
      hint: { in: ['body', 'title'] },
    });
    expect((await post('/dash/apps', { title: 't' })).body).toMatchObject({ hint: { in: ['body', 'id'] } });
    expect((await post('/dash/apps', { title: 't', id: 'nope' })).body).toMatchObject({
      type: 'param-malformed',
      hint: { in: ['body', 'id'] },
    });
    expect((await post('/dash/apps', { title: 't', id: randomUUID() })).body).toMatchObject({
      hint: { in: ['body', 'admin_token'] },
    });
    const bad = await post('/dash/apps', {
      title: 't',
      id: randomUUID(),
      admin_token: randomUUID(),
      rules: { code: { tasks: { allow: { view: 'auth.id ==' } } } },
    });
    expect(bad.body).toMatchObject({ type: 'validation-failed' });
    // Nothing above made an app.
    expect(sandbox.apps()).toEqual([]);

    sandbox.setCloud(true);
    expect((await post('/dash/apps', {})).body).toMatchObject({ type: 'app-creation-disabled' });
    expect(sandbox.apps()).toEqual([]);
  });

  test('the probe asks without creating: allowed on a self-hosted server, refused as on Instant Cloud', async () => {
    expect(await client().probeChosenIds(signal())).toBe('allowed');
    sandbox.setCloud(true);
    expect(await client().probeChosenIds(signal())).toBe('refused');
    // Cloud still creates apps with server-picked ids.
    const app = await client().createApp('swift-blue-otter', lockedTemplate(), signal());
    expect(app.adminToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(sandbox.apps()).toHaveLength(1);
  });

  test('the client sends the rules as rules.code, and a taken id comes back as already-exists', async () => {
    const app = { id: randomUUID(), adminToken: randomUUID(), title: 'calm-red-heron' };
    await client().createAppWithId(app, lockedTemplate(), signal());
    expect(await client().getApp(app.id, signal())).toMatchObject({ id: app.id, title: 'calm-red-heron' });
    await expect(client().createAppWithId(app, lockedTemplate(), signal())).rejects.toMatchObject({
      kind: 'already-exists',
    });
    await expect(client().getApp(randomUUID(), signal())).rejects.toMatchObject({ kind: 'not-found' });
    const perms = await client().getPerms(app.id, signal());
    expect(perms).toEqual(lockedTemplate().perms);
  });

  test('lost answers and hangs apply to it as to /superadmin/apps', async () => {
    sandbox.faults.set({ pLost: 1 });
    const app = { id: randomUUID(), adminToken: randomUUID(), title: 'lost-one-here' };
    await expect(client().createAppWithId(app, lockedTemplate(), signal())).rejects.toMatchObject({ kind: 'network' });
    expect(sandbox.stats().faults.createLost).toBe(1);
    sandbox.faults.reset();
    // Sent again: the app is there, made by the first request.
    await expect(client().createAppWithId(app, lockedTemplate(), signal())).rejects.toMatchObject({
      kind: 'already-exists',
    });
    expect(sandbox.apps()).toHaveLength(1);
  });
});

describe('an organisation', () => {
  test('apps created in it are in its listing, not the personal one, on both create routes', async () => {
    const org = client(sandbox.orgId);
    const chosen = { id: randomUUID(), adminToken: randomUUID(), title: 'org-chosen-app' };
    await org.createAppWithId(chosen, lockedTemplate(), signal());
    const made = await org.createApp('org-server-app', lockedTemplate(), signal());
    await client().createApp('personal-app', lockedTemplate(), signal());

    const inOrg = await org.listApps({ createdSince: 0 }, signal());
    expect(inOrg.map((app) => app.title).sort()).toEqual(['org-chosen-app', 'org-server-app']);
    expect(inOrg.find((app) => app.id === made.id)).toBeDefined();
    const personal = await client().listApps({ createdSince: 0 }, signal());
    expect(personal.map((app) => app.title)).toEqual(['personal-app']);
    expect(await org.listApps({ titles: new Set(['org-chosen-app']) }, signal())).toMatchObject([{ id: chosen.id }]);
  });

  test('another organisation is not ours: record-not-found', async () => {
    const other = randomUUID();
    const { body } = await post('/superadmin/apps', { title: 'x', org_id: other });
    expect(body).toMatchObject({ type: 'record-not-found', hint: { 'record-type': 'org' } });
    await expect(client(other).listApps({ createdSince: 0 }, signal())).rejects.toMatchObject({ kind: 'not-found' });
  });
});
