import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { AppTemplate } from '../../src/core/types.js';
import { PlatformError } from '../../src/errors.js';
import { HttpPlatformClient } from '../../src/platform/http-platform-client.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { rejection, schema } from './helpers.js';

let sandbox: Sandbox;
let client: HttpPlatformClient;
const signal = new AbortController().signal;
const perms = { tasks: { allow: { view: 'true', create: 'false' } } };
const template: AppTemplate = { hash: 'h1', schema: schema as unknown as Record<string, unknown>, perms };

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 21 });
  client = new HttpPlatformClient({ apiUri: sandbox.url, token: sandbox.platformToken, clock: systemClock });
});
afterEach(() => sandbox.close());

function post(path: string, body: unknown) {
  return fetch(`${sandbox.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sandbox.platformToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const platformApps = () => sandbox.apps().filter((app) => app.via === 'platform');

describe('templated create', () => {
  test('carries the schema and the rules; the perms route returns what the create stored', async () => {
    const created = await client.createApp('calm-green-cloud', template, signal);
    expect(await client.getPerms(created.id, signal)).toEqual(perms);
    const res = await fetch(`${sandbox.url}/superadmin/apps/${created.id}/schema`, {
      headers: { authorization: `Bearer ${sandbox.platformToken}` },
    });
    const { schema: catalogue } = (await res.json()) as { schema: { blobs: Record<string, object> } };
    expect(Object.keys(catalogue.blobs['databases']!)).toContain('taskId');
  });

  test('a bad rule is refused before the app exists', async () => {
    const res = await post('/superadmin/apps', { title: 'x', perms: { tasks: { allow: { view: 'auth.id ==' } } } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: 'validation-failed',
      hint: { 'data-type': 'perms', errors: [{ in: ['tasks', 'allow', 'view'] }] },
    });
    expect(platformApps()).toEqual([]);
  });

  test('a rule that parses but does not compile is refused as the server refuses it', async () => {
    const perms = { tasks: { bind: ['mine', 'auht.id == data.owner'], allow: { view: 'mine', update: 'newData.ok' } } };
    const res = await post('/superadmin/apps', { title: 'x', perms });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; hint: { errors: Array<{ in: string[]; message: string }> } };
    expect(body.type).toBe('validation-failed');
    expect(body.hint.errors).toEqual([{ in: ['tasks', 'allow', 'view'], message: 'Unknown variable: auht' }]);
    expect(platformApps()).toEqual([]);
    const { id } = sandbox.createApp({ title: 'main' });
    const push = await post(`/superadmin/apps/${id}/perms`, { code: { tasks: { allow: { view: 'newData.ok' } } } });
    expect(push.status).toBe(400);
    expect(await push.json()).toMatchObject({
      type: 'validation-failed',
      hint: { 'data-type': 'rule', errors: [{ in: ['tasks', 'allow', 'view'] }] },
    });
  });

  test('an unreadable schema is refused after the app row is written: the app stays', async () => {
    const res = await post('/superadmin/apps', { title: 'left-behind', schema: { entities: 3 } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ type: 'validation-failed', hint: { 'data-type': 'schema' } });
    expect(platformApps()).toMatchObject([{ title: 'left-behind', deletedAt: null }]);
  });

  test('pSchemaFail: the create is answered with an error, and the app is listed afterwards', async () => {
    sandbox.faults.set({ pSchemaFail: 1 });
    const statuses: number[] = [];
    for (const title of ['a', 'b', 'c', 'd', 'e', 'f']) {
      const error = await rejection(client.createApp(title, template, signal));
      expect(error).toBeInstanceOf(PlatformError);
      statuses.push((error as PlatformError).status ?? 0);
    }
    expect(new Set(statuses)).toEqual(new Set([400, 500]));
    const listed = (await (
      await fetch(`${sandbox.url}/superadmin/apps`, { headers: { authorization: `Bearer ${sandbox.platformToken}` } })
    ).json()) as { apps: { title: string }[] };
    expect(listed.apps.map((app) => app.title).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    expect(sandbox.stats().faults.schemaFail).toBe(6);

    // Without a schema there is no schema step to fail.
    await expect(client.createApp('plain', { hash: 'h0', schema: null, perms }, signal)).resolves.toBeDefined();
  });
});

describe('POST /superadmin/apps/:id/perms', () => {
  test('stores the rules and answers the rules row; an unchanged push answers rules: null', async () => {
    const { id } = sandbox.createApp({ title: 'main' });
    await client.pushPerms(id, perms, signal);
    expect(await client.getPerms(id, signal)).toEqual(perms);
    const changed = await post(`/superadmin/apps/${id}/perms`, { code: { tasks: { allow: { view: 'false' } } } });
    expect(await changed.json()).toEqual({
      rules: { app_id: id, code: { tasks: { allow: { view: 'false' } } }, version: 1 },
    });
    const same = await post(`/superadmin/apps/${id}/perms`, { code: { tasks: { allow: { view: 'false' } } } });
    expect(same.status).toBe(200);
    expect(await same.json()).toEqual({ rules: null });
  });

  test('refusals: missing code, an invalid rule, an unknown or deleted app, a wrong token', async () => {
    const { id } = sandbox.createApp({ title: 'main' });
    const missing = await post(`/superadmin/apps/${id}/perms`, {});
    expect(await missing.json()).toMatchObject({
      type: 'param-missing',
      message: 'Missing parameter: ["body" "code"]',
    });
    const invalid = await post(`/superadmin/apps/${id}/perms`, { code: { tasks: { fields: { id: 'true' } } } });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ type: 'validation-failed', hint: { 'data-type': 'rule' } });
    expect(await client.getPerms(id, signal)).toBeNull();

    const unknown = await rejection(client.pushPerms('00000000-0000-4000-8000-000000000000', perms, signal));
    expect(unknown).toMatchObject({ kind: 'not-found', type: 'record-not-found', status: 400 });

    const created = await client.createApp('short-lived', { hash: 'h0', schema: null, perms }, signal);
    await client.deleteApp(created.id, signal);
    const deleted = await rejection(client.getPerms(created.id, signal));
    expect(deleted).toMatchObject({ type: 'record-not-found' });

    const wrong = await fetch(`${sandbox.url}/superadmin/apps/${id}/perms`, {
      method: 'POST',
      headers: { authorization: `Bearer per_${'0'.repeat(64)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ code: perms }),
    });
    expect(await wrong.json()).toMatchObject({ type: 'record-not-found', hint: { 'record-type': 'instant-user' } });
  });
});
