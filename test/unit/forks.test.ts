/**
 * Forks over fakes and a fake clock, on both create paths: a task forked from an iteration gets
 * an app made with its source's schema and rules, copying → ready with the source's data; it waits
 * for a source still being made; a source gone or failed follows --fork-source-missing; a kill
 * during the copy leaves a record that names its app, and the next daemon copies again into it.
 */
import { describe, expect, it } from 'vitest';
import { CopyError, PlatformError } from '../../src/errors.js';
import { FakeFeed } from '../fakes/fake-feed.js';
import { harness } from '../fakes/harness.js';
import type { AppTemplate } from '../../src/core/types.js';

const ALICE = 'a11ce000-0000-4000-8000-000000000001';
const sourceTemplate: AppTemplate = {
  hash: 'source-template',
  schema: { entities: { notes: { attrs: {} } }, links: {} },
  perms: { notes: { allow: { view: 'true' } } },
};

/** A ready source task with an iteration, its app holding `entities` entities. */
async function readySource(h: ReturnType<typeof harness>, entities: number) {
  const sourceTask = h.store.addTask(undefined, { ownerId: ALICE });
  const iteration = 'i0000000-0000-4000-8000-000000000001';
  h.store.iterations.set(iteration, sourceTask);
  await h.publish();
  await h.clock.until(() => h.store.recordOf(sourceTask)?.status === 'ready');
  const source = h.store.recordOf(sourceTask)!;
  const app = h.platform.apps.get(source.instantAppId!)!;
  app.template = sourceTemplate;
  h.store.records.get(source.id)!.templateHash = sourceTemplate.hash;
  h.copier.entities.set(app.id, entities);
  return { sourceTask, iteration, source, app };
}

describe.each(['chosen-id', 'server-id'] as const)('forks, %s', (createVia) => {
  it('a fork gets an app with the source’s schema and rules, then its data: copying, with progress, then ready', async () => {
    const h = harness({ createVia });
    const daemon = h.daemon();
    daemon.start();
    const { iteration, app: sourceApp } = await readySource(h, 1_000);

    const fork = h.store.addTask(undefined, { ownerId: ALICE, forkedFrom: iteration });
    await h.publish();
    await h.clock.until(() => h.store.recordOf(fork)?.status === 'copying');
    const copying = h.store.recordOf(fork)!;
    expect(copying).toMatchObject({ originIterationId: iteration });
    expect(copying.instantAppId).not.toBeNull();
    await h.clock.until(() => (h.store.records.get(copying.id) as { copiedEntities?: number }).copiedEntities! > 0);
    await h.clock.until(() => h.store.recordOf(fork)?.status === 'ready');

    const record = h.store.recordOf(fork)!;
    expect(record).toMatchObject({ instantAppId: copying.instantAppId, templateHash: 'source-template' });
    expect(h.copier.entities.get(record.instantAppId!)).toBe(1_000);
    const forkApp = h.platform.apps.get(record.instantAppId!)!;
    expect(forkApp.template).toMatchObject({ schema: sourceTemplate.schema, perms: sourceTemplate.perms });
    expect(sourceApp.deletedAt).toBeNull();
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('waits for a source still being made, then copies it', async () => {
    const h = harness({ createVia });
    h.platform.latencyMs = 5_000;
    const daemon = h.daemon();
    daemon.start();
    const sourceTask = h.store.addTask(undefined, { ownerId: ALICE });
    const iteration = 'i0000000-0000-4000-8000-000000000002';
    h.store.iterations.set(iteration, sourceTask);
    const fork = h.store.addTask(undefined, { ownerId: ALICE, forkedFrom: iteration });
    await h.publish();
    await h.clock.until(() => h.store.recordOf(fork)?.status === 'ready');
    expect(h.store.recordOf(sourceTask)!.readyAt!).toBeLessThanOrEqual(h.store.recordOf(fork)!.readyAt!);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it.each([
    ['fail', 'failed'],
    ['template', 'ready'],
  ] as const)('a source that failed: --fork-source-missing %s leaves the fork %s', async (policy, status) => {
    const h = harness({ createVia, forkSourceMissing: policy, maxAttempts: 1 });
    h.platform.then({ kind: 'fail', error: new PlatformError('rejected', 'validation-failed: no', { status: 400 }) });
    const daemon = h.daemon();
    daemon.start();
    const sourceTask = h.store.addTask(undefined, { ownerId: ALICE });
    const iteration = 'i0000000-0000-4000-8000-000000000003';
    h.store.iterations.set(iteration, sourceTask);
    await h.publish();
    await h.clock.until(() => h.store.recordOf(sourceTask)?.status === 'failed');
    const fork = h.store.addTask(undefined, { ownerId: ALICE, forkedFrom: iteration });
    await h.publish();
    await h.clock.until(() => h.store.recordOf(fork)?.status === status);
    if (status === 'failed') {
      expect(h.store.recordOf(fork)!.error).toMatch(
        /the database it was forked from .* cannot be copied: it is failed/,
      );
      expect(h.platform.liveApps()).toEqual([]);
    } else {
      expect(h.copier.calls.copy).toBe(0);
      expect(h.platform.liveApps()).toHaveLength(1);
    }
    await daemon.stop();
  });

  it('killed during the copy: the next daemon copies again into the app the record names; one app, verified', async () => {
    const h = harness({ createVia });
    const first = h.daemon();
    first.start();
    const { iteration } = await readySource(h, 5_000);
    const fork = h.store.addTask(undefined, { ownerId: ALICE, forkedFrom: iteration });
    await h.publish();
    await h.clock.until(
      () => (h.store.recordOf(fork) as { copiedEntities?: number } | undefined)?.copiedEntities! >= 1_000,
    );
    const named = h.store.recordOf(fork)!.instantAppId;
    // The "kill": the first daemon's writes never come back from now on.
    h.store.beforeOperation = (op) => (op === 'update' ? new Promise(() => {}) : undefined);
    void first.stop();
    await h.clock.advance(1_000);
    h.store.beforeOperation = () => {};

    const feed = new FakeFeed();
    const second = h.daemon({ feed });
    second.start();
    feed.pushRecords([{ ...h.store.recordOf(fork)! }]);
    await h.clock.until(() => h.store.recordOf(fork)?.status === 'ready');
    expect(h.store.recordOf(fork)!.instantAppId).toBe(named);
    expect(h.copier.entities.get(named!)).toBe(5_000);
    expect(h.log.messages('info')).toContain('took over record');
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await second.stop();
  });

  it('a copy that does not verify is tried again, never ready unverified', async () => {
    const h = harness({ createVia });
    h.copier.failures.push(new CopyError('verify-failed', 'posts: 99 entities in the copy, 100 read'));
    const daemon = h.daemon();
    daemon.start();
    const { iteration } = await readySource(h, 100);
    const fork = h.store.addTask(undefined, { ownerId: ALICE, forkedFrom: iteration });
    await h.publish();
    await h.clock.until(() => h.store.recordOf(fork)?.attempts === 1 && h.store.recordOf(fork)?.status === 'copying');
    expect(h.store.recordOf(fork)!.error).toMatch(/^copy failed: posts: 99 entities/);
    await h.clock.until(() => h.store.recordOf(fork)?.status === 'ready');
    expect(h.copier.calls.copy).toBe(2);
    expect(h.log.messages('warn')).toContain('copy failed; will retry');
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });
});
