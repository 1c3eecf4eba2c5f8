/** The operator's commands (status, retry, gc) through the built CLI against the sandbox. */
import { afterEach, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/core/operations/status-report.js';
import { createTasks, runCli, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

const fast = ['--backoff-base', '10', '--backoff-max', '20', '--settle-margin', '100', '--request-timeout', '2000'];

async function status(w: World): Promise<StatusReport> {
  const { code, stdout, stderr } = await runCli(['status', '--json'], w.env);
  expect(code, stderr).toBe(0);
  return JSON.parse(stdout) as StatusReport;
}

describe('status and retry', () => {
  it('reports failed records with their errors; retry puts them back to work and the next pass provisions them', async () => {
    const w = (current = await world());
    const taskIds = await createTasks(w.db, 3);
    w.sandbox.faults.set({ p500: 1 });
    const failedRun = await runCli(['reconcile', '--once', '--max-attempts', '2', ...fast], w.env);
    expect(failedRun.code, failedRun.stderr).toBe(1);
    // Not a terminal: progress comes as lines on stderr, the last one complete.
    expect(failedRun.stderr).toContain('reconcile --once: 3/3 (100%)');

    const failed = await status(w);
    expect(failed.version).toBe(1);
    expect(failed.counts).toMatchObject({ provisioning: 0, ready: 0, failed: 3, detached: 0, retained: 0 });
    expect(failed.failed.map((record) => record.taskId).sort()).toEqual([...taskIds].sort());
    for (const record of failed.failed) {
      expect(record.attempts).toBe(2);
      expect(record.error).toMatch(/500/);
      expect(record).not.toHaveProperty('adminToken');
    }
    expect(failed.oldestProvisioning).toBeNull();

    // One by id (and one unknown id), then the rest with --failed.
    const one = await runCli(['retry', taskIds[0]!, 'no-such-task'], w.env);
    expect(one.code).toBe(1);
    expect(one.stdout).toContain(`${taskIds[0]}: retried`);
    expect(one.stdout).toContain('no-such-task: not retried: no database record');
    const afterOne = await status(w);
    expect(afterOne.counts).toMatchObject({ provisioning: 1, failed: 2 });
    expect(afterOne.oldestProvisioning).toMatchObject({ taskId: taskIds[0], attempts: 0, error: null });

    const usage = await runCli(['retry'], w.env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--failed');

    const rest = await runCli(['retry', '--failed'], w.env);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout).toContain('2 failed databases put back to work');

    w.sandbox.faults.reset();
    const goodRun = await runCli(['reconcile', '--once', ...fast], w.env);
    expect(goodRun.code, goodRun.stderr).toBe(0);
    const healed = await status(w);
    expect(healed.counts).toMatchObject({ provisioning: 0, ready: 3, failed: 0 });
    expect(healed.total).toBe(3);

    const human = await runCli(['status'], w.env);
    expect(human.stdout).toMatch(/3 task databases/);
    expect(human.stdout).toMatch(/ready\s+3/);
  });
});

describe('gc', () => {
  it('lists attributable and unattributable apps; --delete removes only the attributable ones', async () => {
    const w = (current = await world());
    await createTasks(w.db, 2);
    expect((await runCli(['reconcile', '--once', ...fast], w.env)).code).toBe(0);
    const { databases } = await w.db.query({ databases: {} });
    const record = databases[0]!;

    // A lost create's leftover (a record's name, not its app), a stranger's app, and one named like ours with no record.
    const leftover = w.sandbox.createApp({ title: record.name });
    const stranger = w.sandbox.createApp({ title: "Ada's scratch app" });
    const lookalike = w.sandbox.createApp({ title: 'quiet-amber-grove' });
    const live = () =>
      new Set(
        w.sandbox
          .apps()
          .filter((app) => app.deletedAt === null)
          .map((app) => app.id),
      );

    const dry = await runCli(['gc', '--json'], w.env);
    expect(dry.code, dry.stderr).toBe(0);
    const plan = JSON.parse(dry.stdout) as {
      attributable: Array<{ appId: string }>;
      unattributable: Array<{ appId: string }>;
      deleted: null;
    };
    expect(plan.attributable.map((app) => app.appId)).toEqual([leftover.id]);
    expect(plan.unattributable.map((app) => app.appId).sort()).toEqual([stranger.id, lookalike.id].sort());
    expect(plan.deleted).toBeNull();
    expect(live().has(leftover.id)).toBe(true);

    const byName = JSON.parse((await runCli(['gc', '--json', '--match-names'], w.env)).stdout) as typeof plan;
    expect(byName.attributable.map((app) => app.appId).sort()).toEqual([leftover.id, lookalike.id].sort());

    const removal = await runCli(['gc', '--delete'], w.env);
    expect(removal.code, removal.stderr).toBe(0);
    expect(removal.stdout).toContain(`deleted ${leftover.id} "${record.name}"`);
    expect(removal.stdout).toContain('1 of 1 attributable apps deleted');
    const after = live();
    expect(after.has(leftover.id)).toBe(false);
    expect(after.has(stranger.id)).toBe(true);
    expect(after.has(lookalike.id)).toBe(true);
    // The records' own apps are untouched.
    for (const db of databases) expect(after.has(db.instantAppId!)).toBe(true);
  });
});
