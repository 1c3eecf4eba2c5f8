/**
 * `migrate` through the built CLI between two sandboxes: the source started as Instant Cloud is
 * today (chosen ids refused: the daemon made its apps with server ids) and holds the main app; the
 * target is self-hosted. The copies are read on the target by the real admin SDK with the same app
 * id and admin token; a migrate killed halfway is run again; source rules frozen during a copy and
 * put back; failures that lose nothing; bad input (exit 2, one line).
 */
import { init, id } from '@instantdb/admin';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { normalizeApiUri } from '../../src/api-uri.js';
import { FROZEN_KEY, freezeRules, frozenMark } from '../../src/core/operations/frozen-rules.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { FakeClock } from '../fakes/fake-clock.js';
import { eventually, runCli, world, type World } from './helpers.js';
import { appContent, fillApp, provisionTasks, startCli, type TaskApp } from './task-apps.js';

const KEY = randomBytes(32).toString('base64');
/** Rules that let any client write notes: what a frozen source must stop. */
const OPEN_NOTES = { notes: { allow: { view: 'true', create: 'true', update: 'true', delete: 'true' } } };

let source: World | undefined;
let target: Sandbox | undefined;
afterEach(async () => {
  await source?.close();
  await target?.close();
  source = target = undefined;
});

/** A Cloud source with `count` provisioned task databases holding data (the first with open notes rules), and a self-hosted target. */
async function fleet(count: number, options: { targetClock?: FakeClock; people?: number } = {}) {
  const w = (source = await world({ cloud: true }));
  const t = (target = await startSandbox({ seed: 99, ...(options.targetClock ? { clock: options.targetClock } : {}) }));
  const env = { ...w.env, PROVISIONER_TOKEN_KEY: KEY, LOG_LEVEL: 'warn' };
  const apps = await provisionTasks(w, env, count);
  for (const [n, app] of apps.entries()) await fillApp(w.sandbox.url, app, options.people ?? 10 + n, 5 + n);
  await pushRules(w, apps[0]!, OPEN_NOTES);
  const contents = await Promise.all(apps.map((app) => appContent(w.sandbox.url, app)));
  const args = ['--target-api-uri', t.url, '--target-platform-token', t.platformToken];
  return { w, t, env, apps, contents, args };
}

async function pushRules(w: World, app: TaskApp, code: unknown) {
  const response = await fetch(`${w.sandbox.url}/superadmin/apps/${app.appId}/perms`, {
    method: 'POST',
    headers: { authorization: `Bearer ${w.sandbox.platformToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  expect(response.status).toBe(200);
}

async function rulesOf(url: string, app: TaskApp): Promise<Record<string, unknown> | null> {
  const response = await fetch(`${url}/superadmin/apps/${app.appId}/perms`, {
    headers: { authorization: `Bearer ${app.adminToken}` },
  });
  return ((await response.json()) as { perms: Record<string, unknown> | null }).perms;
}

/** A guest's write through the app's rules: 'ok', or the error type the server answered. */
async function guestWrite(url: string, app: TaskApp): Promise<string> {
  const db = init({ appId: app.appId, adminToken: app.adminToken, apiURI: url });
  try {
    await db.asUser({ guest: true }).transact(db.asUser({ guest: true }).tx['notes']![id()]!.update({ text: 'guest' }));
    return 'ok';
  } catch (error) {
    return String((error as { body?: { type?: string } }).body?.type ?? error);
  }
}

async function records(w: World) {
  const { databases } = await w.db.query({ databases: {} });
  return new Map(databases.map((record) => [record.taskId, record]));
}

function liveApps(sandbox: Sandbox, except: string[] = []) {
  return sandbox
    .apps()
    .filter((app) => app.deletedAt === null && !except.includes(app.id))
    .map((app) => app.id)
    .sort();
}

describe('instant-provisioner migrate', () => {
  it('plans, then moves every ready database with its id and token; the target copy reads the same; sources kept with their rules', async () => {
    const { w, t, env, apps, contents, args } = await fleet(3);
    // A record from before `apiUri`: migrate stamps it with the source first.
    await w.db.transact(w.db.tx.databases[apps[2]!.recordId]!.update({ apiUri: null }));
    const rulesBefore = await Promise.all(apps.map((app) => rulesOf(w.sandbox.url, app)));

    const plan = await runCli(['migrate', ...args, '--dry-run'], env);
    expect(plan.code, plan.stderr).toBe(0);
    const lines = plan.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^migrate --dry-run: 3 apps to move from ${w.sandbox.url} to ${t.url}, ${10 + 11 + 12 + 5 + 6 + 7} entities, ~[\\d.]+ (B|KB); 0 already moved; 1 records to stamp with the source first$`,
      ),
    );
    for (const [n, app] of apps.entries())
      expect(lines).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^  task ${app.taskId} ${app.name} \\(app ${app.appId}\\): ${15 + 2 * n} entities \\(notes ${5 + n}, people ${10 + n}\\), ~[\\d.]+ (B|KB)$`,
          ),
        ),
      );
    // A dry run changes nothing, anywhere.
    expect(liveApps(t)).toEqual([]);
    expect((await records(w)).get(apps[2]!.taskId)!.apiUri ?? null).toBeNull();

    const run = await runCli(['migrate', ...args], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^migrate: 3 moved, 0 already moved, 0 failed in [\d.]+ s \(51 entities; 1 records stamped with the source first\)\n/,
    );
    for (const app of apps)
      expect(run.stdout).toContain(`  moved: task ${app.taskId} ${app.name} (app ${app.appId}): `);

    const after = await records(w);
    for (const [n, app] of apps.entries()) {
      // The same id and admin token open the copy on the target, through the real admin SDK.
      expect(await appContent(t.url, app)).toEqual(contents[n]);
      expect(t.apps().find((made) => made.id === app.appId)!.title).toBe(app.name);
      const record = after.get(app.taskId)!;
      expect([record.apiUri, record.instantAppId, record.status]).toEqual([normalizeApiUri(t.url), app.appId, 'ready']);
      // The source app is kept, with its data and its own rules back.
      expect(await appContent(w.sandbox.url, app)).toEqual(contents[n]);
      expect(await rulesOf(w.sandbox.url, app)).toEqual(rulesBefore[n]);
    }
    expect(await rulesOf(t.url, apps[0]!)).toEqual(OPEN_NOTES);
    for (const secret of [t.platformToken, ...apps.map((app) => app.adminToken)]) {
      expect(run.stdout + run.stderr).not.toContain(secret);
    }

    // Run again: nothing to move, nothing changes.
    const again = await runCli(['migrate', ...args], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^migrate: 0 moved, 3 already moved, 0 failed/);
    expect(liveApps(t)).toEqual(apps.map((app) => app.appId).sort());
  });

  it('--task moves only those; --source-app delete deletes their source apps once moved', async () => {
    const { w, t, env, apps, contents, args } = await fleet(3);
    const run = await runCli(
      ['migrate', ...args, '--task', apps[1]!.taskId, 'no-such-task', '--source-app', 'delete'],
      env,
    );
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^migrate: 1 moved, 0 already moved, 1 failed/);
    expect(run.stdout).toContain('  failed: task no-such-task: this task has no database record');
    expect(run.stdout).toContain(`(app ${apps[1]!.appId}): 17 entities; source app deleted`);
    expect(await appContent(t.url, apps[1]!)).toEqual(contents[1]);
    expect(liveApps(t)).toEqual([apps[1]!.appId]);
    expect(w.sandbox.apps().find((app) => app.id === apps[1]!.appId)!.deletedAt).not.toBeNull();
    const after = await records(w);
    expect(after.get(apps[0]!.taskId)!.apiUri).toBe(normalizeApiUri(w.sandbox.url));
    expect(after.get(apps[1]!.taskId)!.apiUri).toBe(normalizeApiUri(t.url));
  });

  it('killed halfway through a copy: the source stays frozen (client writes refused, reads served); run again: moved, verified, its rules back', async () => {
    const clock = new FakeClock();
    const { w, t, env, apps, contents, args } = await fleet(2, { targetClock: clock, people: 1_500 });
    const rulesBefore = await rulesOf(w.sandbox.url, apps[0]!);
    expect(await guestWrite(w.sandbox.url, apps[0]!)).toBe('ok');
    const withGuest = await appContent(w.sandbox.url, apps[0]!);
    // Every write to the target waits until the test moves its clock: the copy stands still wherever we look.
    t.faults.set({ transactLatency: 1_000 });
    const migrate = startCli(['migrate', ...args, '--concurrency', '1', '--task', apps[0]!.taskId], env);
    await eventually(async () => {
      if (t.stats().held === 0) return false;
      if ((await countOn(t, apps[0]!, 'people')) > 0) return true;
      await clock.advanceToNextTimer();
      return false;
    });
    migrate.signal('SIGKILL');
    expect(await migrate.exited).toBeNull();
    t.faults.reset();

    // Killed mid-copy: the record still says the source, whose app is frozen: reads work, client writes do not.
    expect((await records(w)).get(apps[0]!.taskId)!.apiUri).toBe(normalizeApiUri(w.sandbox.url));
    const frozen = await rulesOf(w.sandbox.url, apps[0]!);
    expect(frozen?.[FROZEN_KEY]).toMatchObject({ rules: rulesBefore, target: normalizeApiUri(t.url) });
    expect(await guestWrite(w.sandbox.url, apps[0]!)).toBe('permission-denied');
    expect(await appContent(w.sandbox.url, apps[0]!)).toEqual(withGuest);
    const partial = await countOn(t, apps[0]!, 'people');
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(1_500);

    const again = await runCli(['migrate', ...args], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^migrate: 2 moved, 0 already moved, 0 failed/);
    expect(await appContent(t.url, apps[0]!)).toEqual(withGuest);
    expect(await appContent(t.url, apps[1]!)).toEqual(contents[1]);
    expect(await rulesOf(w.sandbox.url, apps[0]!)).toEqual(rulesBefore);
    expect(await rulesOf(t.url, apps[0]!)).toEqual(rulesBefore);
    expect(await guestWrite(w.sandbox.url, apps[0]!)).toBe('ok');
    // One app per task on the target, with the task's id; the sources kept (the default), none extra anywhere.
    expect(liveApps(t)).toEqual(apps.map((app) => app.appId).sort());
    expect(liveApps(w.sandbox, [w.appId])).toEqual(apps.map((app) => app.appId).sort());
  });

  it("waits out the target's 429s (creates and rules or schema pushes) and moves everything", async () => {
    const { t, env, apps, contents, args } = await fleet(3);
    t.faults.set({ p429: 0.5, pPush429: 0.5, retryAfter: 0 });
    const run = await runCli(['migrate', ...args], env);
    const faults = t.stats().faults;
    t.faults.reset();
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^migrate: 3 moved, 0 already moved, 0 failed/);
    expect((faults['create429'] ?? 0) + (faults['push429'] ?? 0)).toBeGreaterThan(0);
    for (const [n, app] of apps.entries()) expect(await appContent(t.url, app)).toEqual(contents[n]);
  });

  it('Ctrl-C during a copy: the source gets its rules back, the record stays, exit 130; a rerun moves it', async () => {
    const clock = new FakeClock();
    const { w, t, env, apps, contents, args } = await fleet(1, { targetClock: clock, people: 1_500 });
    const rulesBefore = await rulesOf(w.sandbox.url, apps[0]!);
    t.faults.set({ transactLatency: 1_000 });
    const migrate = startCli(['migrate', ...args], env);
    await eventually(async () => {
      if (t.stats().held === 0) return false;
      if ((await countOn(t, apps[0]!, 'people')) > 0) return true;
      await clock.advanceToNextTimer();
      return false;
    });
    expect(frozenMark(await rulesOf(w.sandbox.url, apps[0]!))).not.toBeNull();
    migrate.signal('SIGINT');
    expect(await migrate.exited).toBe(130);
    expect(migrate.output().stdout).toMatch(
      /^migrate: 0 moved, 0 already moved, 0 failed .*\nstopped early: interrupted; run it again to resume\n$/,
    );
    t.faults.reset();
    expect(await rulesOf(w.sandbox.url, apps[0]!)).toEqual(rulesBefore);
    expect((await records(w)).get(apps[0]!.taskId)!.apiUri).toBe(normalizeApiUri(w.sandbox.url));

    const again = await runCli(['migrate', ...args], env);
    expect(again.code, again.stderr).toBe(0);
    expect(await appContent(t.url, apps[0]!)).toEqual(contents[0]);
  });

  it('a kill after the move left the source frozen: the next run thaws it (keep) or deletes it (delete)', async () => {
    const { w, t, env, apps, contents, args } = await fleet(2);
    const rulesBefore = await Promise.all(apps.map((app) => rulesOf(w.sandbox.url, app)));
    expect((await runCli(['migrate', ...args], env)).code).toBe(0);
    // As if killed between the record's move and the thaw: both sources carry frozen rules again.
    for (const [n, app] of apps.entries())
      await pushRules(w, app, freezeRules(rulesBefore[n]!, { target: normalizeApiUri(t.url), frozenAt: 'then' }));
    expect(await guestWrite(w.sandbox.url, apps[0]!)).toBe('permission-denied');

    const keep = await runCli(['migrate', ...args, '--task', apps[0]!.taskId], env);
    expect(keep.code, keep.stderr).toBe(0);
    expect(keep.stdout).toContain(
      `  already moved: task ${apps[0]!.taskId} ${apps[0]!.name} (app ${apps[0]!.appId}); source app kept, its rules back`,
    );
    expect(await rulesOf(w.sandbox.url, apps[0]!)).toEqual(rulesBefore[0]);
    expect(await guestWrite(w.sandbox.url, apps[0]!)).toBe('ok');

    const remove = await runCli(['migrate', ...args, '--source-app', 'delete'], env);
    expect(remove.code, remove.stderr).toBe(0);
    expect(remove.stdout).toMatch(/^migrate: 0 moved, 2 already moved, 0 failed/);
    expect(remove.stdout).toContain(`(app ${apps[1]!.appId}); source app deleted`);
    expect(liveApps(w.sandbox, [w.appId])).toEqual([]);
    expect(await appContent(t.url, apps[1]!)).toEqual(contents[1]);
  });

  it('a copy that fails loses nothing: the record stays on the source, its rules are put back; a rerun moves it', async () => {
    const { w, t, env, apps, contents, args } = await fleet(1);
    const rulesBefore = await rulesOf(w.sandbox.url, apps[0]!);
    t.faults.set({ pTransactFail: 1 });
    const failing = await runCli(['migrate', ...args], env, { timeoutMs: 120_000 });
    t.faults.reset();
    expect(failing.code, failing.stderr).toBe(1);
    expect(failing.stdout).toMatch(/^migrate: 0 moved, 0 already moved, 1 failed/);
    expect(failing.stdout).toContain(`  failed: task ${apps[0]!.taskId} (app ${apps[0]!.appId}): copying: `);
    expect((await records(w)).get(apps[0]!.taskId)!.apiUri).toBe(normalizeApiUri(w.sandbox.url));
    expect(await rulesOf(w.sandbox.url, apps[0]!)).toEqual(rulesBefore);
    expect(await appContent(w.sandbox.url, apps[0]!)).toEqual(contents[0]);

    const again = await runCli(['migrate', ...args], env);
    expect(again.code, again.stderr).toBe(0);
    expect(await appContent(t.url, apps[0]!)).toEqual(contents[0]);
    expect((await records(w)).get(apps[0]!.taskId)!.apiUri).toBe(normalizeApiUri(t.url));
  });

  it('bad input: exit 2 with one line, nothing changed', async () => {
    const { w, t, env, args } = await fleet(1);
    const before = JSON.stringify(await w.db.query({ databases: {} }));
    const expectRefused = async (argv: string[], line: RegExp) => {
      const run = await runCli(['migrate', ...argv], env);
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(line);
      expect(run.stderr.replace('(add --help for usage)\n', '').trimEnd().split('\n')).toHaveLength(1);
      expect(run.stderr).not.toContain(t.platformToken);
      expect(JSON.stringify(await w.db.query({ databases: {} }))).toBe(before);
      expect(liveApps(t)).toEqual([]);
    };
    await expectRefused([], /^instant-provisioner: migrate needs --target-api-uri <url>\n$/);
    await expectRefused(
      ['--target-api-uri', t.url],
      /^instant-provisioner: migrate needs --target-platform-token <token>/,
    );
    await expectRefused(
      ['--target-api-uri', 'ftp://x', '--target-platform-token', 'per_x'],
      /must be an http\(s\) URL/,
    );
    await expectRefused(
      ['--target-api-uri', w.sandbox.url, '--target-platform-token', t.platformToken],
      /--target-api-uri is INSTANT_API_URI/,
    );
    await expectRefused([...args, '--source-app', 'sometimes'], /--source-app/);
    // A target token the target does not know.
    await expectRefused(
      ['--target-api-uri', t.url, '--target-platform-token', `per_${'0'.repeat(64)}`],
      new RegExp(`^instant-provisioner: the target ${t.url} rejected --target-platform-token \\(.*\\)\\n$`),
    );
    // A target that refuses chosen ids (Instant Cloud): the apps could not keep their ids there.
    t.setCloud(true);
    await expectRefused(
      args,
      new RegExp(
        `^instant-provisioner: the target ${t.url} does not create apps with chosen ids .*self-hosted Instant server\\n$`,
      ),
    );
    await expectRefused([...args, '--dry-run'], /does not create apps with chosen ids/);
  });
});

/** Entities of `ns` in the app on `sandbox` (read with its platform token, which reads every app). */
async function countOn(sandbox: Sandbox, app: TaskApp, ns: string): Promise<number> {
  const response = await fetch(`${sandbox.url}/admin/query`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'app-id': app.appId,
      authorization: `Bearer ${sandbox.platformToken}`,
    },
    body: JSON.stringify({ query: { [ns]: { $: { fields: ['id'] } } } }),
  });
  if (!response.ok) return 0;
  return (((await response.json()) as Record<string, unknown[]>)[ns] ?? []).length;
}
