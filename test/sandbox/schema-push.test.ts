import { i, id, init } from '@instantdb/admin';
import { PlatformApi } from '@instantdb/platform';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { HttpPlatformClient } from '../../src/platform/http-platform-client.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { rejection } from './helpers.js';

let sandbox: Sandbox;
let client: HttpPlatformClient;
const signal = new AbortController().signal;

const oldSchema = i.schema({ entities: { notes: i.entity({ text: i.string() }) } });
const newSchema = i.schema({
  entities: {
    notes: i.entity({ text: i.string().unique().indexed(), title: i.string().optional() }),
    tags: i.entity({ name: i.string() }),
  },
  links: {
    noteTags: {
      forward: { on: 'notes', has: 'many', label: 'tags' },
      reverse: { on: 'tags', has: 'many', label: 'notes' },
    },
  },
});
const asRecord = (schema: unknown) => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 31 });
  client = new HttpPlatformClient({ apiUri: sandbox.url, token: sandbox.platformToken, clock: systemClock });
});
afterEach(() => sandbox.close());

async function untilDone(appId: string, groupId: string) {
  for (;;) {
    const jobs = await client.indexingJobs(appId, groupId, signal);
    if (jobs.every((job) => job.status === 'completed' || job.status === 'errored')) return jobs;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function catalogue(appId: string) {
  const res = await fetch(`${sandbox.url}/superadmin/apps/${appId}/schema`, {
    headers: { authorization: `Bearer ${sandbox.platformToken}` },
  });
  return (
    (await res.json()) as { schema: { blobs: Record<string, Record<string, Record<string, unknown>>>; refs: object } }
  ).schema;
}

test('plan lists the steps and changes nothing; apply adds attributes and runs the flag changes as jobs', async () => {
  const app = sandbox.createApp({ title: 'old', schema: oldSchema });
  const before = await catalogue(app.id);
  const planned = await client.planSchema(app.id, asRecord(newSchema), signal);
  expect(planned).toEqual(
    expect.arrayContaining([
      { action: 'add-attr', target: 'notes.title' },
      { action: 'add-attr', target: 'tags.id' },
      { action: 'add-attr', target: 'tags.name' },
      { action: 'add-attr', target: 'notes.tags' },
      { action: 'index', target: 'notes.text' },
      { action: 'unique', target: 'notes.text' },
    ]),
  );
  expect(planned).toHaveLength(6);
  const api = new PlatformApi({ auth: { token: sandbox.platformToken }, apiURI: sandbox.url });
  const sdkPlan = await api.planSchemaPush(app.id, { schema: newSchema });
  expect(Object.keys(sdkPlan.newSchema.entities).sort()).toEqual(['notes', 'tags']);
  expect(sdkPlan.steps.map((step) => step.type)).toContain('unique');
  expect(await catalogue(app.id)).toEqual(before);

  const pushed = await client.pushSchema(app.id, asRecord(newSchema), signal);
  expect(pushed.groupId).toEqual(expect.any(String));
  expect(pushed.jobs.map((job) => job.status)).toEqual(['waiting', 'waiting']);
  const after = await catalogue(app.id);
  expect(Object.keys(after.blobs['notes']!).sort()).toEqual(['id', 'text', 'title']);
  expect(after.blobs['notes']!['text']).toMatchObject({ 'unique?': false, 'index?': false });

  const jobs = await untilDone(app.id, pushed.groupId!);
  expect(jobs).toEqual([
    expect.objectContaining({ status: 'completed', target: 'notes.text' }),
    expect.objectContaining({ status: 'completed', target: 'notes.text' }),
  ]);
  expect((await catalogue(app.id)).blobs['notes']!['text']).toMatchObject({ 'unique?': true, 'index?': true });
  expect(await client.planSchema(app.id, asRecord(newSchema), signal)).toEqual([]);
});

test('a unique job over duplicate values errors, and the attribute stays as it was', async () => {
  const app = sandbox.createApp({ title: 'dupes', schema: oldSchema });
  const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url });
  await db.transact([db.tx['notes']![id()]!.update({ text: 'same' }), db.tx['notes']![id()]!.update({ text: 'same' })]);
  const pushed = await client.pushSchema(app.id, asRecord(newSchema), signal);
  const jobs = await untilDone(app.id, pushed.groupId!);
  expect(jobs.map((job) => job.error).sort()).toEqual([null, 'triple-not-unique-error']);
  expect((await catalogue(app.id)).blobs['notes']!['text']).toMatchObject({ 'unique?': false, 'index?': true });
});

test('unknown apps, bad schemas and bad group ids are refused as the server refuses them', async () => {
  const unknown = await rejection(
    client.planSchema('00000000-0000-4000-8000-000000000000', asRecord(newSchema), signal),
  );
  expect(unknown).toMatchObject({ type: 'record-not-found', status: 400 });
  const app = sandbox.createApp({ title: 'x' });
  const bad = await rejection(client.pushSchema(app.id, { entities: 3 }, signal));
  expect(bad).toMatchObject({ type: 'validation-failed', status: 400 });
  const res = await fetch(`${sandbox.url}/dash/apps/${app.id}/indexing-jobs/group/nope`, {
    headers: { authorization: `Bearer ${sandbox.platformToken}` },
  });
  expect(await res.json()).toMatchObject({ type: 'param-malformed' });
});
