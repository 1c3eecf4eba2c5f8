import { id, init } from '@instantdb/admin';
import { PlatformApi } from '@instantdb/platform';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { Sandbox } from '../../src/sandbox/index.js';
import { rejection, sandboxWithApp } from './helpers.js';

let sandbox: Sandbox;
let app: { id: string; adminToken: string };

beforeEach(async () => {
  ({ sandbox, app } = await sandboxWithApp());
});
afterEach(() => sandbox.close());

const body = JSON.stringify({ query: { tasks: {} } });

async function query(headers: Record<string, string>, search = '') {
  const res = await fetch(`${sandbox.url}/admin/query${search}`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

test('a wrong admin token is 400 record-not-found app-admin-token, echoing app id and token', async () => {
  const wrong = id();
  const db = init({ appId: app.id, adminToken: wrong, apiURI: sandbox.url });
  const error = await rejection(db.query({ tasks: {} }));
  expect(error.status).toBe(400);
  expect(error.body).toMatchObject({
    type: 'record-not-found',
    message: 'Record not found: app-admin-token',
    hint: {
      args: [{ 'app-id': app.id, token: wrong }],
      message: 'This admin token may be expired or invalid. Or you may have provided an incorrect app ID.',
      'record-type': 'app-admin-token',
    },
  });
  const otherApp = await rejection(
    init({ appId: id(), adminToken: app.adminToken, apiURI: sandbox.url }).query({ tasks: {} }),
  );
  expect(otherApp.body.type).toBe('record-not-found');
});

test('the app id may come from the app_id query parameter', async () => {
  const res = await query({ authorization: `Bearer ${app.adminToken}` }, `?app_id=${app.id}`);
  expect(res).toEqual({ status: 200, body: { tasks: [] } });
});

test('missing and malformed parameters', async () => {
  expect(await query({ authorization: `Bearer ${app.adminToken}` })).toMatchObject({
    status: 400,
    body: {
      type: 'param-missing',
      message: 'Missing parameter: ["headers" "app-id"]',
      hint: { in: ['headers', 'app-id'], 'possible-ins': [['query-params', 'app_id']] },
    },
  });
  expect(await query({ 'app-id': 'nope', authorization: `Bearer ${app.adminToken}` })).toMatchObject({
    status: 400,
    body: { type: 'param-malformed', hint: { 'original-input': 'nope' } },
  });
  expect(await query({ 'app-id': app.id })).toMatchObject({
    status: 400,
    body: { type: 'param-missing', message: 'Missing parameter: ["headers" "authorization"]' },
  });
  expect(await query({ 'app-id': app.id, authorization: 'Bearer nope' })).toMatchObject({
    status: 400,
    body: { type: 'param-malformed', hint: { in: ['headers', 'authorization'], 'original-input': 'Bearer nope' } },
  });
  const noQuery = await fetch(`${sandbox.url}/admin/query`, {
    method: 'POST',
    headers: { 'app-id': app.id, authorization: `Bearer ${app.adminToken}` },
    body: '{}',
  });
  expect(await noQuery.json()).toMatchObject({ type: 'param-missing', message: 'Missing parameter: ["body" "query"]' });
});

test("the platform token works on /admin/* (its user created every app); a deleted app's token does not", async () => {
  expect((await query({ 'app-id': app.id, authorization: `Bearer ${sandbox.platformToken}` })).status).toBe(200);
  await new PlatformApi({ auth: { token: sandbox.platformToken }, apiURI: sandbox.url }).deleteApp(app.id);
  const res = await query({ 'app-id': app.id, authorization: `Bearer ${app.adminToken}` });
  expect(res.body['type']).toBe('record-not-found');
});
