/**
 * `restore` through the built CLI against the sandbox (sealed admin tokens): the new app read back
 * with the real admin SDK, the record moved in one write that a subscriber sees live, the old app
 * kept (renamed, out of gc's reach) or deleted, a restore killed halfway and run again, a failure
 * that loses nothing, and bad input (exit 2, one line, nothing changed).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, open, readFile, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../fakes/fake-clock.js';
import { eventually, runCli, world, type World } from './helpers.js';
import { appContent, fillApp, provisionTasks, startCli, taskApp } from './task-apps.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

const KEY = randomBytes(32).toString('base64');

/** Two tasks with ready databases; the first holds data and is backed up; then its data changes. */
async function backedUp(options: { people?: number; notes?: number; clock?: FakeClock } = {}) {
  const { people = 30, notes = 20 } = options;
  const w = (current = await world(options.clock ? { clock: options.clock } : {}));
  const env = { ...w.env, PROVISIONER_TOKEN_KEY: KEY, LOG_LEVEL: 'warn' };
  const [first, second] = await provisionTasks(w, env, 2);
  await fillApp(w.sandbox.url, first!, people, notes);
  const archived = await appContent(w.sandbox.url, first!);
  const out = await mkdtemp(join(tmpdir(), 'restore-'));
  const backup = await runCli(['backup', '--task', first!.taskId, '--out', out], env);
  expect(backup.code, backup.stdout).toBe(0);
  // After the backup, the app moves on: one more person, which the restore must not bring back.
  await fillApp(w.sandbox.url, first!, 1, 0);
  expect((await appContent(w.sandbox.url, first!)).people).toHaveLength(people + 1);
  return { w, env, first: first!, second: second!, archive: join(out, first!.taskId), archived };
}

async function record(w: World, taskId: string) {
  const { databases } = await w.db.query({ databases: { $: { where: { taskId } } } });
  return databases[0]!;
}

function liveApps(w: World) {
  return w.sandbox.apps().filter((app) => app.id !== w.appId && app.deletedAt === null);
}

describe('instant-provisioner restore', () => {
  it('restores into a new app, verified, moves the record in one write a subscriber sees, keeps the old app renamed', async () => {
    const { w, env, first, second, archive, archived } = await backedUp();
    const seen: Array<string | undefined> = [];
    const subscription = w.db.subscribeQuery({ databases: { $: { where: { taskId: first.taskId } } } }, (result) => {
      if (result.type === 'ok') seen.push(result.data.databases[0]?.instantAppId);
    });
    await eventually(() => seen.length > 0);

    const run = await runCli(['restore', '--task', first.taskId, '--from', archive], env);
    expect(run.code, run.stderr).toBe(0);
    const restored = await taskApp(w, env, first.taskId);
    expect(restored.appId).not.toBe(first.appId);
    expect(run.stdout).toMatch(
      new RegExp(
        `^restore: task ${first.taskId} restored from ${archive} into app ${restored.appId} \\(50 entities, verified\\); ` +
          `old app ${first.appId} kept as "${first.name} \\(replaced \\d{4}-\\d{2}-\\d{2}\\)"\n$`,
      ),
    );
    // The real admin SDK reads the new app with the record's id and token: exactly what was archived.
    expect(await appContent(w.sandbox.url, restored)).toEqual(archived);
    const after = await record(w, first.taskId);
    expect(after.status).toBe('ready');
    expect(after.pendingAppId ?? null).toBeNull();
    expect(after.pendingAdminToken ?? null).toBeNull();
    expect(after.templateHash ?? null).toBeNull();
    expect(after.adminToken!.startsWith('v2:')).toBe(true);
    await eventually(() => seen.at(-1) === restored.appId);
    expect(seen.filter((appId) => appId !== first.appId && appId !== restored.appId)).toEqual([]);
    subscription.close();

    // The old app is kept with the data it had, renamed, and neither gc nor a second look takes it for a leftover.
    const old = w.sandbox.apps().find((app) => app.id === first.appId)!;
    expect(old.deletedAt).toBeNull();
    expect(old.title).toMatch(new RegExp(`^${first.name} \\(replaced \\d{4}-\\d{2}-\\d{2}\\)$`));
    expect((await appContent(w.sandbox.url, first)).people).toHaveLength(31);
    const gc = JSON.parse((await runCli(['gc', '--json', '--match-names'], env)).stdout);
    expect(gc.attributable).toEqual([]);
    expect((await taskApp(w, env, second.taskId)).appId).toBe(second.appId);
    expect(run.stdout + run.stderr).not.toContain(restored.adminToken);
  });

  it('--old-app delete deletes the old app once the record names the new one', async () => {
    const { w, env, first, archive, archived } = await backedUp();
    const run = await runCli(['restore', '--task', first.taskId, '--from', archive, '--old-app', 'delete'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/; old app [0-9a-f-]+ deleted\n$/);
    const restored = await taskApp(w, env, first.taskId);
    expect(await appContent(w.sandbox.url, restored)).toEqual(archived);
    expect(w.sandbox.apps().find((app) => app.id === first.appId)!.deletedAt).not.toBeNull();
    expect(liveApps(w)).toHaveLength(2);
  });

  it('killed halfway through the copy, then run again: the same new app is finished, one app per task, nothing orphaned', async () => {
    const clock = new FakeClock();
    const { w, env, first, archive, archived } = await backedUp({ people: 1_500, notes: 1_000, clock });
    // Every transaction now waits until the test moves the clock: the restore stands still wherever we look.
    w.sandbox.faults.set({ transactLatency: 1_000 });
    const restore = startCli(['restore', '--task', first.taskId, '--from', archive, '--old-app', 'delete'], env);
    let pendingAppId: string | undefined;
    await eventually(async () => {
      if (w.sandbox.stats().held === 0) return false;
      pendingAppId = (await record(w, first.taskId)).pendingAppId ?? undefined;
      const pending = pendingAppId ? w.sandbox.apps().find((app) => app.id === pendingAppId) : undefined;
      // Once the new app holds some of the archive and the next page is on its way: kill.
      if (pending && (await countPeople(w, pendingAppId!, env)) > 0) return true;
      await clock.advanceToNextTimer();
      return false;
    });
    restore.signal('SIGKILL');
    expect(await restore.exited).toBeNull();
    w.sandbox.faults.reset();
    const stranded = await record(w, first.taskId);
    expect([stranded.instantAppId, stranded.pendingAppId]).toEqual([first.appId, pendingAppId]);
    const partial = await countPeople(w, pendingAppId!, env);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(1_500);

    const again = await runCli(['restore', '--task', first.taskId, '--from', archive, '--old-app', 'delete'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`into app ${pendingAppId} (2500 entities, verified, resumed)`);
    const restored = await taskApp(w, env, first.taskId);
    expect(restored.appId).toBe(pendingAppId);
    expect(await appContent(w.sandbox.url, restored)).toEqual(archived);
    // One live app per task, each named by its record; the old one is gone.
    const { databases } = await w.db.query({ databases: {} });
    expect(
      liveApps(w)
        .map((app) => app.id)
        .sort(),
    ).toEqual(databases.map((r) => r.instantAppId).sort());
    expect(databases.every((r) => !r.pendingAppId)).toBe(true);
  });

  it('a restore that fails on the way loses nothing: the record keeps its live app and names the pending one; a rerun finishes', async () => {
    const { w, env, first, archive, archived } = await backedUp();
    // Schema pushes refused for a while: the new app exists, the copy cannot start.
    w.sandbox.faults.set({ pPush429: 1, retryAfter: 0 });
    const failing = await runCli(
      ['restore', '--task', first.taskId, '--from', archive, '--request-timeout', '2000'],
      env,
      {
        timeoutMs: 120_000,
      },
    );
    w.sandbox.faults.reset();
    expect(failing.code, failing.stderr).toBe(1);
    const pendingAppId = (await record(w, first.taskId)).pendingAppId!;
    expect(failing.stdout).toMatch(
      new RegExp(
        `^restore: task ${first.taskId} failed: copying the archive into app ${pendingAppId}: .*too many requests.*; ` +
          `run it again to resume \\(its new app ${pendingAppId} is pending\\)\n$`,
        'i',
      ),
    );
    const kept = await record(w, first.taskId);
    expect(kept.instantAppId).toBe(first.appId);
    expect(kept.status).toBe('ready');
    expect((await appContent(w.sandbox.url, first)).people).toHaveLength(31);
    // gc leaves the pending app alone: its record names it.
    const gc = JSON.parse((await runCli(['gc', '--json', '--match-names'], env)).stdout);
    expect([gc.attributable, gc.inFlight]).toEqual([[], 1]);

    const again = await runCli(['restore', '--task', first.taskId, '--from', archive], env);
    expect(again.code, again.stderr).toBe(0);
    const restored = await taskApp(w, env, first.taskId);
    expect(restored.appId).toBe(pendingAppId);
    expect(await appContent(w.sandbox.url, restored)).toEqual(archived);
  });

  it('a pending app that does not verify is given up for a new one; a pending id that is not ours is never touched', async () => {
    const { w, env, first, second, archive, archived } = await backedUp();
    // A pending app an earlier run filled from another archive: a person the archive does not have.
    const stale = { appId: randomUUID(), adminToken: randomUUID() };
    await createWithId(w, { id: stale.appId, adminToken: stale.adminToken, title: first.name });
    await fillApp(w.sandbox.url, stale, 1, 0);
    await w.db.transact(
      w.db.tx.databases[first.recordId]!.update({ pendingAppId: stale.appId, pendingAdminToken: stale.adminToken }),
    );
    const run = await runCli(['restore', '--task', first.taskId, '--from', archive], env);
    expect(run.code, run.stderr).toBe(0);
    const restored = await taskApp(w, env, first.taskId);
    expect(restored.appId).not.toBe(stale.appId);
    expect(await appContent(w.sandbox.url, restored)).toEqual(archived);
    expect(w.sandbox.apps().find((app) => app.id === stale.appId)!.deletedAt).not.toBeNull();

    // A pending id that names another app (another title): a new id is chosen; that app is left alone.
    const foreign = { appId: randomUUID(), adminToken: randomUUID() };
    await createWithId(w, { id: foreign.appId, adminToken: foreign.adminToken, title: 'somebody else' });
    await w.db.transact(
      w.db.tx.databases[second.recordId]!.update({
        pendingAppId: foreign.appId,
        pendingAdminToken: foreign.adminToken,
      }),
    );
    const other = await runCli(['restore', '--task', second.taskId, '--from', archive], env);
    expect(other.code, other.stderr).toBe(0);
    const replaced = await taskApp(w, env, second.taskId);
    expect([foreign.appId, second.appId]).not.toContain(replaced.appId);
    expect(await appContent(w.sandbox.url, replaced)).toEqual(archived);
    const untouched = w.sandbox.apps().find((app) => app.id === foreign.appId)!;
    expect([untouched.title, untouched.deletedAt]).toEqual(['somebody else', null]);
  });

  it('bad input: exit 2 with one line, and nothing changes', async () => {
    const { w, env, first, second, archive } = await backedUp();
    const before = JSON.stringify(await w.db.query({ databases: {} }));
    const expectRefused = async (args: string[], line: RegExp, runEnv: Record<string, string> = env) => {
      const run = await runCli(['restore', ...args], runEnv);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(line);
      // commander adds its "(add --help for usage)" line to a flag it refuses itself.
      expect(run.stderr.replace('(add --help for usage)\n', '').trimEnd().split('\n')).toHaveLength(1);
      expect(JSON.stringify(await w.db.query({ databases: {} }))).toBe(before);
    };
    await expectRefused(['--from', archive], /^instant-provisioner: restore needs --task <taskId>\n$/);
    await expectRefused(['--task', first.taskId], /^instant-provisioner: restore needs --from <archive>\n$/);
    await expectRefused(['--task', first.taskId, '--from', archive, '--old-app', 'maybe'], /--old-app/);
    await expectRefused(
      ['--task', first.taskId, '--from', join(archive, 'nothing')],
      /^instant-provisioner: archive invalid: no archive at .*nothing\n$/,
      {},
    );
    await expectRefused(
      ['--task', 'no-such-task', '--from', archive],
      /^instant-provisioner: task no-such-task has no database record\n$/,
    );
    // A server that refuses chosen ids (Instant Cloud today) cannot restore: the record names no new app.
    w.sandbox.setCloud(true);
    await expectRefused(
      ['--task', second.taskId, '--from', archive],
      /does not create apps with chosen ids .*restore on a self-hosted Instant server\n$/,
    );
    w.sandbox.setCloud(false);

    // An altered byte (same size): the checksum says so. A cut file: its size says so.
    const people = join(archive, 'entities', 'people.jsonl');
    const original = await readFile(people);
    const handle = await open(people, 'r+');
    await handle.write(Buffer.from(original[10] === 0x41 ? 'B' : 'A'), 0, 1, 10);
    await handle.close();
    await expectRefused(
      ['--task', first.taskId, '--from', archive],
      /^instant-provisioner: archive invalid: entities\/people\.jsonl does not match its checksum/,
    );
    await truncate(people, (await stat(people)).size - 5);
    await expectRefused(
      ['--task', first.taskId, '--from', archive],
      /^instant-provisioner: archive invalid: entities\/people\.jsonl is truncated/,
    );
    expect(liveApps(w)).toHaveLength(2);
  });
});

async function countPeople(w: World, appId: string, env: Record<string, string>): Promise<number> {
  // The pending app's admin token is sealed on the record; the platform token reads any app of the sandbox.
  const response = await fetch(`${w.sandbox.url}/admin/query`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'app-id': appId,
      authorization: `Bearer ${env.INSTANT_PLATFORM_TOKEN}`,
    },
    body: JSON.stringify({ query: { people: { $: { fields: ['id'] } } } }),
  });
  if (!response.ok) return 0;
  const body = (await response.json()) as { people?: unknown[] };
  return body.people?.length ?? 0;
}

/** Creates an app with a chosen id, as a restore does (POST /dash/apps with the platform token). */
async function createWithId(w: World, app: { id: string; adminToken: string; title: string }): Promise<void> {
  const response = await fetch(`${w.sandbox.url}/dash/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${w.sandbox.platformToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: app.id, admin_token: app.adminToken, title: app.title }),
  });
  expect(response.status).toBe(200);
}
