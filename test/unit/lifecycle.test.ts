/**
 * The life of a task database after the claim: created from a template,
 * detached when its task is deleted, given back when the task returns within
 * the grace, retired (app deleted, record removed) after it.
 */
import { describe, expect, it } from 'vitest';
import { PlatformError } from '../../src/errors.js';
import type { AppTemplate } from '../../src/core/types.js';
import { harness } from '../fakes/harness.js';

const HOUR = 3_600_000;

/** A task provisioned to ready by `daemon`; returns its id and app. */
async function readyTask(h: ReturnType<typeof harness>, taskId = h.store.addTask()) {
  h.feed.pushTasks([taskId]);
  await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
  const record = h.store.recordOf(taskId)!;
  return { taskId, record, app: h.platform.apps.get(record.instantAppId!)! };
}

describe('a task deleted after its database is ready', () => {
  it('detaches the record, waits out the grace, then deletes the app and the record', async () => {
    const h = harness({ deleteGraceMs: HOUR });
    const daemon = h.daemon();
    daemon.start();
    const { taskId, record, app } = await readyTask(h);

    h.store.deleteTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.records.get(record.id)?.status === 'detached');
    const detachedAt = h.store.records.get(record.id)!.detachedAt!;
    expect(detachedAt).toBe(h.clock.now());
    await h.publish();
    expect(app.deletedAt).toBeNull();

    // Not a moment before the grace and the settle margin (clock skew) have passed.
    await h.clock.advance(HOUR + h.config.settleMarginMs - 1_000 - (h.clock.now() - detachedAt));
    expect(app.deletedAt).toBeNull();
    expect(h.store.records.has(record.id)).toBe(true);
    await h.clock.until(() => !h.store.records.has(record.id));
    expect(app.deletedAt).not.toBeNull();
    expect(h.clock.now() - detachedAt).toBeLessThanOrEqual(HOUR + h.config.settleMarginMs + 1_000);
    expect(h.platform.liveApps()).toEqual([]);
    expect(h.log.messages('info')).toEqual(
      expect.arrayContaining(['task was deleted; detached its database', 'retired the database of a deleted task']),
    );
    await daemon.stop();
  });

  for (const createVia of ['server-id', 'chosen-id'] as const) {
    it(`retiring a record that names a restore's pending app deletes that app too (${createVia})`, async () => {
      const h = harness({ deleteGraceMs: HOUR, createVia });
      const daemon = h.daemon();
      daemon.start();
      const { taskId, record, app } = await readyTask(h);
      // What `restore` writes before it creates its new app (src/core/operations/restore-database.ts).
      const pending = { id: '00000000-0000-4000-8000-00000000abcd', adminToken: 'pending-token', title: record.name };
      await h.platform.createAppWithId(pending, { hash: '', schema: null, perms: {} }, new AbortController().signal);
      await h.store.update(record, 'operator', { pendingAppId: pending.id, pendingAdminToken: pending.adminToken });

      h.store.deleteTask(taskId);
      await h.publish();
      await h.clock.until(() => !h.store.records.has(record.id), 2 * HOUR + h.config.settleMarginMs);
      expect(app.deletedAt).not.toBeNull();
      expect(h.platform.apps.get(pending.id)!.deletedAt).not.toBeNull();
      expect(h.platform.liveApps()).toEqual([]);
      await daemon.stop();
    });
  }

  it('gives a task re-created with the same id inside the grace its own record and app back', async () => {
    const h = harness({ deleteGraceMs: HOUR });
    const daemon = h.daemon();
    daemon.start();
    const { taskId, record, app } = await readyTask(h);
    h.store.deleteTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.records.get(record.id)?.status === 'detached');

    await h.clock.advance(HOUR / 2);
    h.store.addTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.tasks.get(taskId)!.mainDatabaseId === record.id);

    expect(h.store.recordOf(taskId)).toMatchObject({
      id: record.id,
      status: 'ready',
      instantAppId: app.id,
      detachedAt: null,
    });
    await h.clock.advance(2 * HOUR);
    await h.publish();
    await h.clock.advance(1_000);
    expect(app.deletedAt).toBeNull();
    expect(h.platform.calls.create).toBe(1);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('links a task that was deleted and re-created before anyone noticed, without detaching', async () => {
    const h = harness();
    const daemon = h.daemon();
    daemon.start();
    const { taskId, record } = await readyTask(h);
    h.store.deleteTask(taskId);
    h.store.addTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.tasks.get(taskId)!.mainDatabaseId === record.id);
    expect(h.store.recordOf(taskId)).toMatchObject({ status: 'ready', detachedAt: null });
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('with --on-task-delete retain keeps the app for good, and still gives it back to a returning task', async () => {
    const h = harness({ onTaskDelete: 'retain', deleteGraceMs: 0 });
    const daemon = h.daemon();
    daemon.start();
    const { taskId, record, app } = await readyTask(h);
    h.store.deleteTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.records.get(record.id)?.status === 'retained');
    await h.clock.advance(48 * HOUR);
    await h.publish();
    await h.clock.advance(1_000);
    expect(app.deletedAt).toBeNull();
    expect(h.log.messages('info')).toContain('task was deleted; retained its database');

    h.store.addTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    expect(h.store.tasks.get(taskId)!.mainDatabaseId).toBe(record.id);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('a crash between deleting the app and removing the record is finished by the next daemon', async () => {
    const h = harness({ deleteGraceMs: 0 });
    const first = h.daemon();
    first.start();
    const { taskId, record, app } = await readyTask(h);
    // The "crash": the write that removes the record never comes back.
    h.store.beforeOperation = (op) => (op === 'delete' ? new Promise(() => {}) : undefined);
    h.store.deleteTask(taskId);
    await h.publish();
    await h.clock.until(() => app.deletedAt !== null);
    expect(h.store.records.get(record.id)).toMatchObject({ status: 'detached', leaseOwner: first.owner });
    const leaseFreeAt = h.store.records.get(record.id)!.leaseExpiresAt! + h.config.settleMarginMs;
    void first.stop();

    h.store.beforeOperation = () => {};
    const feed = new (h.feed.constructor as typeof import('../fakes/fake-feed.js').FakeFeed)();
    const second = h.daemon({ feed });
    second.start();
    await h.publish(feed);
    await h.clock.until(() => !h.store.records.has(record.id));
    // It waited for the first daemon's lease (plus the margin) before finishing.
    expect(h.clock.now()).toBeGreaterThanOrEqual(leaseFreeAt);
    expect(h.platform.liveApps()).toEqual([]);
    await second.stop();
  });

  it('two daemons retiring one record: the app is deleted once and the record removed once', async () => {
    const h = harness({ deleteGraceMs: 0 });
    const one = h.daemon();
    const two = h.daemon();
    one.start();
    two.start();
    const { taskId, record } = await readyTask(h);
    h.store.deleteTask(taskId);
    for (let i = 0; i < 5 && h.store.records.has(record.id); i++) {
      await h.publish();
      await h.clock.advance(h.config.settleMarginMs + 100);
    }
    await h.clock.until(() => !h.store.records.has(record.id));
    expect(h.platform.calls.delete).toBe(1);
    expect(h.store.counts.delete).toBe(1);
    expect(h.platform.liveApps()).toEqual([]);
    expect(h.log.messages('warn').filter((m) => m.includes('failed'))).toEqual([]);
    await Promise.all([one.stop(), two.stop()]);
  });

  it('a task re-created after its retirement began gets a new database once the old one is gone', async () => {
    const h = harness({ deleteGraceMs: 0 });
    const daemon = h.daemon();
    const { taskId, record, app } = await (async () => {
      daemon.start();
      return readyTask(h);
    })();
    // The retirement starts (the lease is written) and then the platform is slow to delete.
    const deleteApp = h.platform.deleteApp.bind(h.platform);
    let release: () => void = () => {};
    h.platform.deleteApp = async (appId: string) => {
      await new Promise<void>((resolve) => (release = resolve));
      return deleteApp(appId);
    };
    h.store.deleteTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.records.get(record.id)?.leaseOwner === daemon.owner);
    h.store.addTask(taskId);
    await h.publish();
    release();
    h.platform.deleteApp = deleteApp;
    await h.clock.until(
      () => h.store.recordOf(taskId)?.status === 'ready' && h.store.recordOf(taskId)?.id !== record.id,
    );
    expect(app.deletedAt).not.toBeNull();
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('removes a failed record whose task is deleted, with any app left under its name', async () => {
    const h = harness();
    const daemon = h.daemon();
    h.platform.then({
      kind: 'fail',
      error: new PlatformError('rejected', 'validation-failed: bad title', { status: 400 }),
    });
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'failed');
    h.store.deleteTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.records.size === 0);
    expect(h.log.messages('info')).toContain('task was deleted; removed its failed database record');
    await daemon.stop();
  });
});

describe('created from a template', () => {
  const template: AppTemplate = {
    hash: 'template-1',
    schema: { entities: { notes: { attrs: {}, links: {} } }, links: {}, rooms: {} },
    perms: { notes: { allow: { view: 'auth.id != null' } } },
  };

  it('sends the template with the create and records which one the app got', async () => {
    const h = harness();
    const daemon = h.daemon({ template });
    daemon.start();
    const { record, app } = await readyTask(h);
    expect(app.template).toEqual(template);
    expect(record.templateHash).toBe('template-1');
    await daemon.stop();
  });

  it('locks an app created without a template: every client operation denied', async () => {
    const h = harness();
    const daemon = h.daemon();
    daemon.start();
    const { app } = await readyTask(h);
    expect(app.template!.schema).toBeNull();
    expect(app.template!.perms).toEqual({
      $default: { allow: { view: 'false', create: 'false', update: 'false', delete: 'false' } },
      attrs: { allow: { create: 'false' } },
    });
    await daemon.stop();
  });

  it('a create with a schema refused after the app was written: the app is found and deleted, the record fails', async () => {
    const h = harness();
    h.platform.then({ kind: 'created-then-400' });
    const daemon = h.daemon({ template });
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'failed');
    expect(h.platform.apps.size).toBe(1);
    expect(h.platform.liveApps()).toEqual([]);
    expect(h.store.recordOf(taskId)!.error).toContain('Validation failed for schema');
    await daemon.stop();
  });

  it('without a schema, a refused create is final at once (nothing can have been made)', async () => {
    const h = harness();
    h.platform.then({
      kind: 'fail',
      error: new PlatformError('rejected', 'validation-failed: bad perms', { status: 400 }),
    });
    const daemon = h.daemon();
    daemon.start();
    await h.clock.advance(0);
    const listsBefore = h.platform.calls.list;
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'failed');
    expect(h.platform.calls.list).toBe(listsBefore);
    await daemon.stop();
  });
});
