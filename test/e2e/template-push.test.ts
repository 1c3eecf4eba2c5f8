import { i } from '@instantdb/admin';
import { afterEach, expect, test } from 'vitest';
import { connectPorts, Provisioner } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { AppTemplate } from '../../src/core/types.js';
import { templateHash } from '../../src/template/app-template.js';
import { LogSink } from '../fakes/log-sink.js';
import { createTasks, world, type World } from './helpers.js';

let w: World;
afterEach(() => w?.close());

function template(schema: unknown, perms: Record<string, unknown>): AppTemplate {
  const json = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  return { hash: templateHash(json, perms), schema: json, perms };
}

const oldTemplate = template(i.schema({ entities: { notes: i.entity({ text: i.string() }) } }), {
  notes: { allow: { view: 'true' } },
});
const newTemplate = template(
  i.schema({ entities: { notes: i.entity({ text: i.string().unique().indexed(), title: i.string().optional() }) } }),
  { notes: { allow: { view: 'false' } } },
);

function provisionerWith(t: AppTemplate) {
  const config = loadConfig({ ...w.env, LOG_LEVEL: 'silent' }, {});
  const log = new LogSink();
  return new Provisioner(config, connectPorts(config, log), log, { template: t });
}

async function platformGet(path: string) {
  const res = await fetch(`${w.sandbox.url}${path}`, {
    headers: { authorization: `Bearer ${w.sandbox.platformToken}` },
  });
  return (await res.json()) as Record<string, any>;
}

test('template push brings apps created with an old template up to the new one', async () => {
  w = await world();
  await createTasks(w.db, 3);
  const signal = new AbortController().signal;
  await provisionerWith(oldTemplate).runOnce(signal);
  const apps = w.sandbox.apps().filter((app) => app.id !== w.appId && app.deletedAt === null);
  expect(apps).toHaveLength(3);
  for (const app of apps)
    expect((await platformGet(`/superadmin/apps/${app.id}/perms`)).perms).toEqual(oldTemplate.perms);

  const summary = await provisionerWith(newTemplate).pushTemplate(signal);
  expect(summary).toMatchObject({ updated: 3, failed: [], abortedBy: null });
  for (const app of apps) {
    expect((await platformGet(`/superadmin/apps/${app.id}/perms`)).perms).toEqual(newTemplate.perms);
    const { blobs } = (await platformGet(`/superadmin/apps/${app.id}/schema`)).schema;
    expect(blobs.notes.text).toMatchObject({ 'unique?': true, 'index?': true });
    expect(Object.keys(blobs.notes)).toContain('title');
  }
  const again = await provisionerWith(newTemplate).pushTemplate(signal);
  expect(again).toMatchObject({ updated: 0, current: 3, failed: [] });
});
