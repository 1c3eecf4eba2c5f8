/** `template push`: every ready database brought up to the current template, resumable, paced by 429s. */
import { describe, expect, it } from 'vitest';
import type { AppTemplate } from '../../src/core/types.js';
import { PlatformError } from '../../src/errors.js';
import { harness } from '../fakes/harness.js';

const v2: AppTemplate = {
  hash: 'template-v2',
  schema: { entities: { notes: { attrs: { text: { valueType: 'string' } }, links: {} } }, links: {}, rooms: {} },
  perms: { notes: { allow: { view: 'auth.id != null' } } },
};

/** `count` tasks provisioned with the default template, then a daemon that pushes `v2`. */
async function fleet(count: number, overrides: Parameters<typeof harness>[0] = {}) {
  const h = harness(overrides);
  const provisioner = h.daemon();
  provisioner.start();
  const tasks = Array.from({ length: count }, () => h.store.addTask());
  h.feed.pushTasks(tasks);
  await h.clock.until(() => tasks.every((taskId) => h.store.recordOf(taskId)?.status === 'ready'));
  await provisioner.stop();
  return { h, tasks, pusher: h.daemon({ template: v2 }) };
}

/** Runs `work` on the fake clock until it settles. */
async function settled<T>(h: ReturnType<typeof harness>, work: Promise<T>): Promise<T> {
  let result: { value: T } | undefined;
  void work.then((value) => (result = { value }));
  await h.clock.until(() => result !== undefined, 3_600_000, 50);
  return result!.value;
}

describe('template push', () => {
  it('pushes schema (waiting for its indexing jobs) and rules to every app not on the template, then marks its record', async () => {
    const { h, tasks, pusher } = await fleet(5);
    h.platform.jobPolls = 2;
    const progress: Array<[number, number]> = [];
    const summary = await settled(
      h,
      pusher.pushTemplate(new AbortController().signal, (done, total) => progress.push([done, total])),
    );
    expect(summary).toMatchObject({ updated: 5, current: 0, failed: [], abortedBy: null });
    for (const taskId of tasks) {
      const record = h.store.recordOf(taskId)!;
      expect(record.templateHash).toBe('template-v2');
      expect(h.platform.apps.get(record.instantAppId!)!.template).toMatchObject({ schema: v2.schema, perms: v2.perms });
    }
    // Each push started a job that took two polls to complete.
    expect(h.platform.templateCalls).toMatchObject({ push: 5, pushPerms: 5, jobs: 10 });
    expect(progress.at(0)).toEqual([0, 5]);
    expect(progress.at(-1)).toEqual([5, 5]);

    // A second run finds everything current and changes nothing.
    const again = await settled(h, pusher.pushTemplate(new AbortController().signal));
    expect(again).toMatchObject({ updated: 0, current: 5, failed: [] });
    expect(h.platform.templateCalls.push).toBe(5);
  });

  it('never works on more apps at once than the concurrency cap', async () => {
    const { h, pusher } = await fleet(12, { concurrency: 3 });
    let inFlight = 0;
    let most = 0;
    const pushPerms = h.platform.pushPerms.bind(h.platform);
    h.platform.pushPerms = async (appId, perms) => {
      most = Math.max(most, ++inFlight);
      await new Promise<void>((resolve) => h.clock.setTimer(resolve, 100));
      inFlight--;
      return pushPerms(appId, perms);
    };
    expect(await settled(h, pusher.pushTemplate(new AbortController().signal))).toMatchObject({ updated: 12 });
    expect(most).toBe(3);
  });

  it('is resumed by running it again after a crash: records are marked only after their app took the change', async () => {
    const { h, tasks, pusher } = await fleet(6, { concurrency: 1 });
    // The "crash": the third mark never comes back, and the process is gone.
    let marks = 0;
    h.store.beforeOperation = (op) => (op === 'update' && ++marks === 3 ? new Promise(() => {}) : undefined);
    const interrupted = new AbortController();
    void pusher.pushTemplate(interrupted.signal);
    await h.clock.until(() => marks === 3);
    interrupted.abort();
    const marked = tasks.filter((taskId) => h.store.recordOf(taskId)!.templateHash === 'template-v2');
    expect(marked).toHaveLength(2);
    expect(h.platform.templateCalls.pushPerms).toBe(3);

    h.store.beforeOperation = () => {};
    const resumed = await settled(h, h.daemon({ template: v2 }).pushTemplate(new AbortController().signal));
    expect(resumed).toMatchObject({ updated: 4, current: 2, failed: [] });
    expect(tasks.every((taskId) => h.store.recordOf(taskId)!.templateHash === 'template-v2')).toBe(true);
  });

  it('a 429 holds every request back as long as the server asks and costs no attempt; a 5xx is retried', async () => {
    const { h, pusher } = await fleet(4, { maxAttempts: 2, concurrency: 1 });
    h.platform.templateFailures.push(
      new PlatformError('rate-limited', 'rate limited', { status: 429, retryAfterMs: 30_000 }),
      new PlatformError('rate-limited', 'rate limited', { status: 429, retryAfterMs: 30_000 }),
      new PlatformError('server', 'server error', { status: 503 }),
    );
    const started = h.clock.now();
    const summary = await settled(h, pusher.pushTemplate(new AbortController().signal));
    expect(summary).toMatchObject({ updated: 4, failed: [] });
    expect(h.clock.now() - started).toBeGreaterThanOrEqual(60_000);
  });

  it('fails an app the server refuses, or whose indexing job errored, with the reason, and updates the rest', async () => {
    const { h, tasks, pusher } = await fleet(3, { concurrency: 1 });
    h.platform.failNextJob = 'triple-not-unique-error';
    const summary = await settled(h, pusher.pushTemplate(new AbortController().signal));
    expect(summary.updated).toBe(2);
    expect(summary.failed).toEqual([
      expect.objectContaining({
        taskId: tasks[0],
        reason: 'schema push: indexing job failed (notes.text: triple-not-unique-error)',
      }),
    ]);
    expect(h.store.recordOf(tasks[0]!)!.templateHash).not.toBe('template-v2');

    const { h: h2, pusher: pusher2 } = await fleet(2, { concurrency: 1 });
    h2.platform.templateFailures.push(new PlatformError('rejected', 'validation-failed: bad rule', { status: 400 }));
    const refused = await settled(h2, pusher2.pushTemplate(new AbortController().signal));
    expect(refused).toMatchObject({
      updated: 1,
      failed: [expect.objectContaining({ reason: 'validation-failed: bad rule' })],
    });
  });

  it('ends the run at once when the platform token is rejected', async () => {
    const { h, pusher } = await fleet(3, { concurrency: 1 });
    h.platform.templateFailures.push(
      new PlatformError('token-rejected', 'the platform token was rejected (record-not-found: instant-user)', {
        status: 400,
      }),
    );
    const summary = await settled(h, pusher.pushTemplate(new AbortController().signal));
    expect(summary).toMatchObject({ updated: 0, abortedBy: expect.stringContaining('platform token was rejected') });
  });

  it('--dry-run: lists the apps and what the schema plan and the rules would change, and changes nothing', async () => {
    const { h, tasks, pusher } = await fleet(3);
    const plan = await settled(h, pusher.planTemplate(new AbortController().signal));
    expect(plan).toMatchObject({ total: 3, current: 0, failed: [], abortedBy: null });
    expect(plan.apps.map((app) => app.taskId).sort()).toEqual([...tasks].sort());
    for (const app of plan.apps) {
      expect(app.steps).toEqual([{ action: 'add-attr', target: 'notes.id' }]);
      expect(app.rulesChange).toBe(true);
    }
    expect(h.platform.templateCalls).toMatchObject({ push: 0, pushPerms: 0 });
    expect(tasks.every((taskId) => h.store.recordOf(taskId)!.templateHash !== 'template-v2')).toBe(true);
  });

  it('leaves databases that live on another server alone (not yet migrated), and says how many', async () => {
    const { h, tasks, pusher } = await fleet(4, { concurrency: 1 });
    const away = tasks.slice(0, 2);
    for (const taskId of away) h.store.recordOf(taskId)!.apiUri = 'https://api.instantdb.com';

    const plan = await settled(h, pusher.planTemplate(new AbortController().signal));
    expect(plan).toMatchObject({ total: 4, elsewhere: 2, failed: [] });
    expect(plan.apps.map((app) => app.taskId).sort()).toEqual(tasks.slice(2).sort());

    const progress: Array<[number, number]> = [];
    const summary = await settled(
      h,
      pusher.pushTemplate(new AbortController().signal, (done, total) => progress.push([done, total])),
    );
    expect(summary).toMatchObject({ updated: 2, elsewhere: 2, failed: [] });
    expect(progress.at(-1)).toEqual([4, 4]);
    expect(h.platform.templateCalls.pushPerms).toBe(2);
    for (const taskId of away) {
      const record = h.store.recordOf(taskId)!;
      expect(record.templateHash).not.toBe('template-v2');
      expect(h.platform.apps.get(record.instantAppId!)!.template).not.toMatchObject({ perms: v2.perms });
    }
  });
});
