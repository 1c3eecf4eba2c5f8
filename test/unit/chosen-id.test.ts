/**
 * The chosen-id create path over fakes and a fake clock: the record names its app from the claim
 * on, a create whose answer is lost is resolved by sending it again, nothing is ever listed, and a
 * record claimed on one path is finished by the rules of that path on a daemon of the other.
 */
import { describe, expect, it } from 'vitest';
import { PlatformError } from '../../src/errors.js';
import { FakeFeed } from '../fakes/fake-feed.js';
import { harness, testTemplate } from '../fakes/harness.js';

const chosen = { createVia: 'chosen-id' as const };
const serverError = () => new PlatformError('server', 'server error (unknown)', { status: 500 });

describe('chosen ids', () => {
  it('the claim names the app and its token; one create with them; ready with the same app; nothing listed', async () => {
    const h = harness(chosen);
    h.platform.latencyMs = 500;
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.platform.inFlight === 1);
    const claimed = h.store.recordOf(taskId)!;
    expect(claimed).toMatchObject({ status: 'provisioning', createdVia: 'chosen-id', apiUri: 'http://127.0.0.1:1' });
    expect(claimed.instantAppId).toMatch(/^[0-9a-f-]{36}$/);
    expect(claimed.adminToken).toMatch(/^[0-9a-f-]{36}$/);
    expect(h.platform.liveApps()).toEqual([]);

    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    const record = h.store.recordOf(taskId)!;
    expect(record).toMatchObject({ instantAppId: claimed.instantAppId, adminToken: claimed.adminToken, attempts: 1 });
    expect(h.platform.liveApps()).toMatchObject([
      { id: claimed.instantAppId, adminToken: claimed.adminToken, title: record.name },
    ]);
    expect(h.platform.calls).toMatchObject({ createWithId: 1, create: 0, get: 0, list: 0 });
    // A clean first answer: nothing to check afterwards.
    expect(h.platform.templateCalls.getPerms).toBe(0);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('an answer lost after the app was made: the same create again finds it ours, checks its template, records it', async () => {
    const h = harness(chosen);
    h.platform.then({ kind: 'lost' });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    expect(h.platform.calls).toMatchObject({ createWithId: 2, get: 1, list: 0, delete: 0 });
    // Sent again at once, not after a backoff: the same create cannot make a second app.
    const [first, second] = h.platform.createTimes;
    expect(second! - first!).toBeLessThan(h.config.backoffBaseMs / 2);
    expect(h.platform.templateCalls.getPerms).toBe(1);
    expect(h.platform.templateCalls.pushPerms).toBe(0);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    expect(h.log.messages('info')).toContain(
      'the app already exists (an earlier create landed); checking its rules and schema',
    );
    await daemon.stop();
  });

  it('creates that keep getting no answer are resent at once only once, then back off', async () => {
    const h = harness(chosen);
    const unanswered = () => ({ kind: 'fail' as const, error: new PlatformError('network', 'connect ECONNREFUSED') });
    h.platform.then(unanswered(), unanswered(), unanswered());
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready', 600_000, 50);

    const gaps = h.platform.createTimes.slice(1).map((at, i) => at - h.platform.createTimes[i]!);
    expect(gaps).toHaveLength(3);
    expect(gaps[0]).toBeLessThan(h.config.backoffBaseMs / 2);
    expect(gaps[1]).toBeGreaterThanOrEqual(h.config.backoffBaseMs / 2);
    expect(gaps[2]).toBeGreaterThanOrEqual(h.config.backoffBaseMs / 2);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('an app written without its rules (a crash between row and rules) gets them before it is ready', async () => {
    const h = harness(chosen);
    h.platform.then({ kind: 'bare-then-500' });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    const [app] = h.platform.liveApps();
    expect(app!.template?.perms).toEqual(testTemplate.perms);
    expect(h.platform.templateCalls.pushPerms).toBe(1);
    expect(h.log.messages('warn')).toContain('the app lacked its template after an unclean create; pushed it');
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('transient failures do not fail a database within --give-up-after; it is ready once the server recovers', async () => {
    const h = harness({ ...chosen, maxAttempts: undefined, giveUpAfterMs: 3_600_000 });
    h.platform.then(...Array.from({ length: 12 }, () => ({ kind: 'fail' as const, error: serverError() })));
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready', 3_600_000, 1_000);

    expect(h.store.recordOf(taskId)).toMatchObject({ status: 'ready', attempts: 13 });
    expect(h.platform.calls).toMatchObject({ createWithId: 13, list: 0 });
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('transient failures past --give-up-after fail the database with the reason, and nothing is left', async () => {
    const h = harness({ ...chosen, maxAttempts: undefined, giveUpAfterMs: 600_000 });
    h.platform.then(...Array.from({ length: 200 }, () => ({ kind: 'fail' as const, error: serverError() })));
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'failed', 3_600_000, 1_000);

    const record = h.store.recordOf(taskId)!;
    expect(record.error).toMatch(/^gave up after \d+ attempts over \d+ s \(--give-up-after\); last error: /);
    expect(record.firstAttemptAt).not.toBeNull();
    expect(h.clock.now() - record.firstAttemptAt!).toBeGreaterThanOrEqual(600_000);
    expect(h.platform.liveApps()).toEqual([]);
    expect(h.log.messages('error')).toEqual(['database failed']);
    await daemon.stop();
  });

  it('a refusal (4xx) fails at once, after deleting the app its id may have', async () => {
    const h = harness(chosen);
    h.platform.then({ kind: 'created-then-400' });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'failed');

    expect(h.store.recordOf(taskId)).toMatchObject({
      attempts: 1,
      error: expect.stringContaining('validation-failed'),
    });
    expect(h.platform.liveApps()).toEqual([]);
    expect(h.platform.calls.createWithId).toBe(1);
    await daemon.stop();
  });

  it.each([
    ['an app of another title holds the id', 'someone-elses-app', false],
    ['the app with the id was deleted', null, true],
  ] as const)('%s: the record names a new app, and the old one is left alone', async (_case, title, deleted) => {
    const h = harness(chosen);
    const taskId = h.store.addTask();
    const taken = 'e0000000-0000-4000-8000-000000000001';
    h.platform.apps.set(taken, {
      id: taken,
      title: title ?? 'calm-red-heron',
      adminToken: 'f0000000-0000-4000-8000-000000000001',
      createdAt: h.clock.now(),
      deletedAt: deleted ? h.clock.now() : null,
      template: null,
    });
    h.store.putRecord({
      id: 'record-1',
      taskId,
      name: 'calm-red-heron',
      createdVia: 'chosen-id',
      instantAppId: taken,
      adminToken: 'a0000000-0000-4000-8000-000000000001',
      createdAt: h.clock.now(),
    });
    const daemon = h.daemon();
    daemon.start();
    h.feed.pushRecords([{ ...h.store.recordOf(taskId)! }]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    const record = h.store.recordOf(taskId)!;
    expect(record.instantAppId).not.toBe(taken);
    expect(record.createdVia).toBe('chosen-id');
    expect(h.platform.apps.get(taken)!.deletedAt === null).toBe(!deleted);
    expect(h.platform.liveApps().filter((app) => app.id !== taken)).toMatchObject([{ id: record.instantAppId }]);
    expect(h.log.messages('warn')).toContain('the record names a new app');
    expect(h.platform.calls.list).toBe(0);
    await daemon.stop();
  });

  it('killed between create and record: the next daemon sends the same create, finds the app ours, and records it', async () => {
    const h = harness(chosen);
    const first = h.daemon();
    // The "crash": the write that records the app never comes back.
    h.store.beforeOperation = (op) => (op === 'update' ? new Promise(() => {}) : undefined);
    first.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.platform.calls.createWithId === 1);
    await h.clock.advance(100);
    const made = h.platform.liveApps()[0]!;
    void first.stop();

    h.store.beforeOperation = () => {};
    const feed = new FakeFeed();
    const second = h.daemon({ feed });
    second.start();
    feed.pushRecords([{ ...h.store.recordOf(taskId)! }]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    expect(h.store.recordOf(taskId)!.instantAppId).toBe(made.id);
    expect(made.deletedAt).toBeNull();
    expect(h.platform.calls).toMatchObject({ createWithId: 2, list: 0, delete: 0 });
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await second.stop();
  });

  it('a task deleted while a create of its app may still land: the app is deleted only once it cannot land any more', async () => {
    const h = harness(chosen);
    // The connection drops at once; the request lands 8 s later (inside timeout + settle margin).
    // The resend at once meets a 500, so the record is backing off when its task goes.
    h.platform.then({ kind: 'dropped', landsAfterMs: 8_000 }, { kind: 'fail', error: serverError() });
    h.platform.latencyMs = 10;
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.attempts === 2, 600_000, 10);
    h.store.deleteTask(taskId);
    await h.publish();
    await h.clock.until(() => h.store.recordOf(taskId) === undefined, 120_000);

    expect(h.platform.apps.size).toBe(1);
    expect(h.platform.liveApps()).toEqual([]);
    await daemon.stop();
  });

  it('two daemons: one record, one app', async () => {
    const h = harness({ ...chosen, concurrency: 3 });
    h.platform.latencyMs = 200;
    const one = h.daemon();
    const two = h.daemon();
    one.start();
    two.start();
    const tasks = Array.from({ length: 20 }, () => h.store.addTask());
    for (let i = 0; i < 3; i++) {
      h.feed.pushTasks(tasks);
      await h.clock.advance(50);
    }
    await h.clock.until(() => tasks.every((taskId) => h.store.recordOf(taskId)?.status === 'ready'));
    expect(h.platform.calls.createWithId).toBe(20);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await Promise.all([one.stop(), two.stop()]);
  });
});

describe('a rolling change between the paths', () => {
  const chosenRecord = (h: ReturnType<typeof harness>, taskId: string) =>
    h.store.putRecord({
      id: 'record-1',
      taskId,
      name: 'calm-red-heron',
      createdVia: 'chosen-id',
      instantAppId: 'e0000000-0000-4000-8000-000000000001',
      adminToken: 'a0000000-0000-4000-8000-000000000001',
      createdAt: h.clock.now(),
    });

  it('a server-id daemon meets a chosen-id record whose app exists: it records that app, creates none', async () => {
    const h = harness({ createVia: 'server-id' });
    h.platform.chosenIds = 'refused';
    const taskId = h.store.addTask();
    chosenRecord(h, taskId);
    // The chosen-id daemon that claimed it made the app, then died before recording it.
    h.platform.apps.set('e0000000-0000-4000-8000-000000000001', {
      id: 'e0000000-0000-4000-8000-000000000001',
      title: 'calm-red-heron',
      adminToken: 'a0000000-0000-4000-8000-000000000001',
      createdAt: h.clock.now(),
      deletedAt: null,
      template: testTemplate,
    });
    const daemon = h.daemon();
    daemon.start();
    h.feed.pushRecords([{ ...h.store.recordOf(taskId)! }]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    expect(h.store.recordOf(taskId)).toMatchObject({ instantAppId: 'e0000000-0000-4000-8000-000000000001' });
    expect(h.platform.calls).toMatchObject({ create: 0, createWithId: 0, get: 1, list: 0 });
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('a server-id daemon meets a chosen-id record whose app was never made: the record gives its id up, and gets a server-made app', async () => {
    const h = harness({ createVia: 'server-id' });
    h.platform.chosenIds = 'refused';
    const taskId = h.store.addTask();
    chosenRecord(h, taskId);
    const daemon = h.daemon();
    daemon.start();
    h.feed.pushRecords([{ ...h.store.recordOf(taskId)! }]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    const record = h.store.recordOf(taskId)!;
    expect(record.createdVia).toBe('server-id');
    expect(record.instantAppId).not.toBe('e0000000-0000-4000-8000-000000000001');
    expect(h.platform.calls).toMatchObject({ create: 1, createWithId: 0 });
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('a chosen-id daemon meets a server-id record another daemon lost an answer for: found by title and deleted, then created', async () => {
    const h = harness(chosen);
    const taskId = h.store.addTask();
    h.store.putRecord({ id: 'record-1', taskId, name: 'calm-red-heron', createdAt: h.clock.now() });
    // The old daemon's create landed; its answer never reached it.
    h.platform.apps.set('app-old', {
      id: 'app-old',
      title: 'calm-red-heron',
      adminToken: 'lost-token',
      createdAt: h.clock.now(),
      deletedAt: null,
      template: testTemplate,
    });
    const daemon = h.daemon();
    daemon.start();
    h.feed.pushRecords([{ ...h.store.recordOf(taskId)! }]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    expect(h.store.recordOf(taskId)).toMatchObject({ createdVia: 'server-id' });
    expect(h.platform.apps.get('app-old')!.deletedAt).not.toBeNull();
    expect(h.platform.calls).toMatchObject({ create: 1, createWithId: 0 });
    expect(h.platform.calls.list).toBeGreaterThan(0);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });
});
