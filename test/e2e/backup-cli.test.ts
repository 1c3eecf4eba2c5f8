/** `backup` and `verify-archive` through the built CLI, against the sandbox, with sealed admin tokens. */
import { id, init } from '@instantdb/admin';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAdminToken, parseTokenKey } from '../../src/token-seal.js';
import { createTasks, runCli, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

const KEY = randomBytes(32).toString('base64');

/** Three tasks with ready databases (tokens sealed), each app holding some notes linked to people. */
async function provisioned() {
  const w = (current = await world());
  const env = { ...w.env, PROVISIONER_TOKEN_KEY: KEY, LOG_LEVEL: 'warn' };
  const taskIds = await createTasks(w.db, 3);
  expect((await runCli(['reconcile', '--once'], env)).code).toBe(0);
  const { databases } = await w.db.query({ databases: { $: { fields: ['taskId', 'instantAppId', 'adminToken'] } } });
  const apps = new Map<string, { appId: string; adminToken: string; recordId: string }>();
  for (const [n, record] of databases.entries()) {
    const adminToken = openAdminToken(record.adminToken!, record.id, parseTokenKey(KEY));
    const app = init({ appId: record.instantAppId!, adminToken, apiURI: w.sandbox.url });
    const people = Array.from({ length: 5 + n }, () => id());
    await app.transact(people.map((person, k) => app.tx['people']![person]!.update({ name: `p${k}` })));
    await app.transact(people.map((person) => app.tx['notes']![id()]!.update({ text: 'hi' }).link({ people: person })));
    apps.set(record.taskId, { appId: record.instantAppId!, adminToken, recordId: record.id });
  }
  return { w, env, taskIds, apps };
}

describe('instant-provisioner backup', () => {
  it('archives every ready database, records its figures, and a second run skips complete archives', async () => {
    const { w, env, taskIds, apps } = await provisioned();
    const out = await mkdtemp(join(tmpdir(), 'backup-'));
    const first = await runCli(['backup', '--all', '--out', out], env);
    expect(first.stdout).toMatch(
      /^backup: 3 backed up, 0 already complete, 0 failed in \d+\.\d s \(\d+ entities, \d+ bytes\)\n$/,
    );
    expect(first.stderr.trim().split('\n').at(-1)).toMatch(/^backup: 3\/3 \(100%\)/);
    expect(first.code).toBe(0);

    const index = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
    expect(index.format).toBe('instant-provisioner-backup');
    expect(Object.keys(index.archives).sort()).toEqual([...taskIds].sort());
    const entry = index.archives[taskIds[0]!];
    expect(entry.path).toBe(taskIds[0]);
    expect(entry.appId).toBe(apps.get(taskIds[0]!)!.appId);
    expect(Object.keys(entry.namespaces).sort()).toEqual(['notes', 'people']);
    expect(entry.namespaces.people.count).toBe(entry.namespaces.notes.count);
    expect(entry.entityCount).toBe(entry.namespaces.people.count * 2);

    const { databases } = await w.db.query({ databases: {} });
    for (const record of databases) {
      const archived = index.archives[record.taskId];
      expect(record.entityCount).toBe(archived.entityCount);
      expect(record.sizeBytes).toBe(archived.sizeBytes);
      expect(record.lastBackupAt).toBe(Date.parse(archived.finishedAt));
    }
    const status = await runCli(['status', '--json'], env);
    const report = JSON.parse(status.stdout);
    expect(report.backups).toMatchObject({ backedUp: 3, notBackedUp: 0, entityCount: 2 * (5 + 6 + 7) });

    // One archive left partial (its manifest gone, as if killed while writing): only it is redone.
    await rm(join(out, taskIds[1]!, 'manifest.json'));
    const second = await runCli(['backup', '--all', '--out', out], env);
    expect(second.stdout).toMatch(/^backup: 1 backed up, 2 already complete, 0 failed/);
    expect(second.code).toBe(0);
    const verified = await runCli(['verify-archive', join(out, taskIds[1]!)], {});
    expect(verified.stdout).toMatch(/^verify-archive: .* is complete: \d+ entities in 2 namespaces/);
    expect(verified.code).toBe(0);
  });

  it('exits 1 naming each failed task and its reason, never a token; backs up the others', async () => {
    const { w, env, taskIds, apps } = await provisioned();
    // One record's token no longer opens its app (the app's token was rotated by hand, say).
    const broken = apps.get(taskIds[2]!)!;
    const wrongToken = id();
    await w.db.transact(w.db.tx.databases[broken.recordId]!.update({ adminToken: wrongToken }));
    const out = await mkdtemp(join(tmpdir(), 'backup-'));
    const result = await runCli(['backup', '--task', taskIds[0]!, taskIds[2]!, 'no-such-task', '--out', out], env);
    expect(result.code).toBe(1);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^backup: 1 backed up, 0 already complete, 2 failed/);
    expect(lines).toContain(`  failed: task no-such-task: no ready database for this task`);
    expect(lines.find((line) => line.includes(taskIds[2]!))).toMatch(/admin token or id was not accepted/);
    for (const secret of [wrongToken, ...[...apps.values()].map((app) => app.adminToken)]) {
      expect(result.stdout).not.toContain(secret);
      expect(result.stderr).not.toContain(secret);
    }
  });

  it('bad usage and bad archives: exit 2 with one line', async () => {
    const { env, taskIds } = await provisioned();
    const neither = await runCli(['backup', '--out', '/tmp/x'], env);
    expect([neither.code, neither.stderr]).toEqual([
      2,
      'instant-provisioner: backup needs either --task <taskId...> or --all\n',
    ]);
    const both = await runCli(['backup', '--all', '--task', 'a', '--out', '/tmp/x'], env);
    expect(both.code).toBe(2);
    const noOut = await runCli(['backup', '--all'], env);
    expect([noOut.code, noOut.stderr]).toEqual([2, 'instant-provisioner: backup needs --out <dir>\n']);

    const out = await mkdtemp(join(tmpdir(), 'backup-'));
    expect((await runCli(['backup', '--task', taskIds[0]!, '--out', out], env)).code).toBe(0);
    const archive = join(out, taskIds[0]!);
    const people = join(archive, 'entities', 'people.jsonl');
    await truncate(people, 20);
    const cut = await runCli(['verify-archive', archive], {});
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(
      /^instant-provisioner: archive invalid: entities\/people\.jsonl is truncated: 20 bytes, the manifest says \d+\n$/,
    );
    const missing = await runCli(['verify-archive', join(out, 'nothing-here')], {});
    expect([missing.code, missing.stderr.split('\n').length]).toEqual([2, 2]);
  });
});
