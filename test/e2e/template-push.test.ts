import { fileURLToPath } from 'node:url';
import { i } from '@instantdb/admin';
import { afterEach, expect, test } from 'vitest';
import { connectPorts, Provisioner } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { AppTemplate } from '../../src/core/types.js';
import { templateHash } from '../../src/template/app-template.js';
import { LogSink } from '../fakes/log-sink.js';
import { createTasks, runCli, world, type World } from './helpers.js';

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

test('through the built CLI: --dry-run plans 200 apps, the push brings them all over with 429s injected, a second push finds them current', async () => {
  w = await world();
  await createTasks(w.db, 200);
  // Created locked (no template), as the default daemon does.
  expect((await runCli(['reconcile', '--once', '--concurrency', '16'], w.env, { timeoutMs: 120_000 })).code).toBe(0);
  const templateFlags = [
    '--template-schema',
    fileURLToPath(new URL('../../templates/task-db.schema.ts', import.meta.url)),
    '--template-perms',
    fileURLToPath(new URL('../../templates/task-db.perms.ts', import.meta.url)),
    '--concurrency',
    '16',
  ];

  const dry = await runCli(['template', 'push', '--dry-run', ...templateFlags], w.env);
  expect(dry.code, dry.stderr).toBe(0);
  expect(dry.stdout).toMatch(/^template push --dry-run: 200 apps to update, 0 already current/);
  expect(dry.stdout.match(/add-attr notes\.text/g)).toHaveLength(200);
  expect(dry.stdout).toContain('rules');
  const locked = w.sandbox.apps().find((app) => app.id !== w.appId)!;
  expect((await platformGet(`/superadmin/apps/${locked.id}/schema`)).schema?.blobs?.notes).toBeUndefined();

  w.sandbox.faults.set({ pPush429: 0.1, retryAfter: 1 });
  const push = await runCli(['template', 'push', ...templateFlags], w.env, { timeoutMs: 120_000 });
  expect(push.code, push.stderr).toBe(0);
  expect(push.stdout).toMatch(/^template push: 200 updated, 0 already current, 0 failed in [\d.]+ s/);
  expect(w.sandbox.stats().faults.push429).toBeGreaterThan(0);
  expect(push.stderr).toMatch(/template push: 200\/200 \(100%\)/);
  for (const app of w.sandbox
    .apps()
    .filter((a) => a.id !== w.appId)
    .slice(0, 5)) {
    expect((await platformGet(`/superadmin/apps/${app.id}/perms`)).perms).toMatchObject({ notes: expect.anything() });
  }

  w.sandbox.faults.reset();
  const again = await runCli(['template', 'push', ...templateFlags], w.env);
  expect(again.stdout).toMatch(/^template push: 0 updated, 200 already current, 0 failed/);
});
