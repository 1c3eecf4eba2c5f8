/**
 * What a task's owner means to the daemon, over fakes and a fake clock: a re-created task gets
 * its database back only from the same owner; the per-owner cap refuses, then provisions; an owner
 * may ask for another try at a failed database; tasks the main app keeps refusing do not hold
 * back the tasks after them.
 */
import { describe, expect, it } from 'vitest';
import { PlatformError } from '../../src/errors.js';
import { retryTasks } from '../../src/core/operations/retry-failed.js';
import { harness } from '../fakes/harness.js';

const HOUR = 3_600_000;
const ALICE = 'a11ce000-0000-4000-8000-000000000001';
const BOB = 'b0b00000-0000-4000-8000-000000000002';

describe('re-created tasks', () => {
  it('the same owner gets the database back; another owner gets a new one, and the old one retires', async () => {
    const h = harness({ deleteGraceMs: HOUR });
    const daemon = h.daemon();
    daemon.start();
    const mine = h.store.addTask(undefined, { ownerId: ALICE });
    const stolen = h.store.addTask(undefined, { ownerId: ALICE });
    await h.publish();
    await h.clock.until(() => [mine, stolen].every((t) => h.store.recordOf(t)?.status === 'ready'));
    const mineApp = h.store.recordOf(mine)!.instantAppId;
    const stolenRecord = h.store.recordOf(stolen)!;
    expect(stolenRecord.ownerId).toBe(ALICE);

    h.store.deleteTask(mine);
    h.store.deleteTask(stolen);
    await h.publish();
    await h.clock.until(
      () =>
        h.store.recordOf(mine)?.status === 'detached' && h.store.records.get(stolenRecord.id)?.status === 'detached',
    );
    // Alice re-creates hers; Bob re-creates Alice's other task id, as someone who saw it on the live page could.
    h.store.addTask(mine, { ownerId: ALICE });
    h.store.addTask(stolen, { ownerId: BOB });
    await h.publish();
    await h.clock.until(
      () => h.store.recordOf(mine)?.status === 'ready' && h.store.recordOf(stolen)?.status === 'ready',
    );

    expect(h.store.recordOf(mine)!.instantAppId).toBe(mineApp);
    const bobs = h.store.recordOf(stolen)!;
    expect(bobs.id).not.toBe(stolenRecord.id);
    expect(bobs).toMatchObject({ ownerId: BOB });
    expect(bobs.instantAppId).not.toBe(stolenRecord.instantAppId);
    // Alice's old database let go of the task id and retires after its grace, untouched by Bob.
    const old = h.store.records.get(stolenRecord.id)!;
    expect(old).toMatchObject({ status: 'detached', taskId: stolenRecord.id });
    expect(h.log.messages('warn')).toContain(
      'task re-created by another owner: it gets a new database; the old one is not handed over',
    );
    await h.clock.advance(HOUR + h.config.settleMarginMs + 1_000);
    await h.publish();
    await h.clock.until(() => !h.store.records.has(stolenRecord.id));
    expect(h.platform.apps.get(stolenRecord.instantAppId!)!.deletedAt).not.toBeNull();
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });
});

describe('--max-databases-per-owner', () => {
  it('a task over the cap gets a refused record and no app; once its owner deletes one, it is made', async () => {
    const h = harness({ maxDatabasesPerOwner: 2 });
    const daemon = h.daemon();
    daemon.start();
    const [one, two, three] = [1, 2, 3].map(() => h.store.addTask(undefined, { ownerId: ALICE }));
    const bobs = h.store.addTask(undefined, { ownerId: BOB });
    await h.publish();
    await h.clock.until(() => [one, two, bobs].every((t) => h.store.recordOf(t!)?.status === 'ready'));
    await h.clock.until(() => h.store.recordOf(three!)?.status === 'refused');

    expect(h.store.recordOf(three!)).toMatchObject({
      status: 'refused',
      instantAppId: null,
      error: expect.stringContaining('--max-databases-per-owner 2'),
    });
    expect(h.platform.liveApps()).toHaveLength(3);
    expect(h.store.tasks.get(three!)!.mainDatabaseId).toBe(h.store.recordOf(three!)!.id);

    h.store.deleteTask(one!);
    await h.publish();
    await h.clock.until(() => h.store.recordOf(three!)?.status === 'ready');
    expect(h.log.messages('info')).toContain('its owner is under the cap again; provisioning the refused database');
    expect(h.store.recordOf(one!)?.status).toBe('detached');
    await daemon.stop();
  });

  it('a refused record whose task is deleted goes, with no app to delete', async () => {
    const h = harness({ maxDatabasesPerOwner: 1 });
    const daemon = h.daemon();
    daemon.start();
    const [first, second] = [1, 2].map(() => h.store.addTask(undefined, { ownerId: ALICE }));
    await h.publish();
    await h.clock.until(() => h.store.recordOf(second!)?.status === 'refused');
    const deletes = h.platform.calls.delete;
    h.store.deleteTask(second!);
    await h.publish();
    await h.clock.until(() => h.store.recordOf(second!) === undefined);
    expect(h.platform.calls.delete).toBe(deletes);
    expect(h.store.recordOf(first!)?.status).toBe('ready');
    await daemon.stop();
  });
});

describe('a retry the owner asks for', () => {
  it('puts a failed database back to work, at most once a minute', async () => {
    const h = harness({ maxAttempts: 1 });
    const refusal = () => ({
      kind: 'fail' as const,
      error: new PlatformError('rejected', 'validation-failed: bad template', { status: 400 }),
    });
    h.platform.then(refusal(), refusal());
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask(undefined, { ownerId: ALICE });
    await h.publish();
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'failed');

    h.store.requestRetry(taskId, h.clock.now());
    await h.publish();
    await h.clock.until(() => h.platform.calls.create === 2 && h.store.recordOf(taskId)?.status === 'failed');
    const honouredAt = h.store.recordOf(taskId)!.retryHonouredAt!;
    expect(honouredAt).not.toBeNull();
    expect(h.store.tasks.get(taskId)!.retryRequestedAt).toBeNull();

    // Asked again at once: honoured only a minute after the last one.
    h.store.requestRetry(taskId, h.clock.now());
    await h.publish();
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    expect(h.store.recordOf(taskId)!.retryHonouredAt! - honouredAt).toBeGreaterThanOrEqual(60_000);
    expect(h.log.messages('info').filter((m) => m === 'retrying at the task owner’s request')).toHaveLength(2);
    await daemon.stop();
  });
});

describe('tasks the main app keeps refusing', () => {
  it('300 of them, the oldest, do not hold back the 10 good ones after them', async () => {
    const h = harness({ windowSize: 256 });
    const daemon = h.daemon();
    daemon.start();
    const stuck = Array.from({ length: 300 }, () => h.store.addTask());
    for (const taskId of stuck) h.store.refusedClaims.add(taskId);
    const good = Array.from({ length: 10 }, () => h.store.addTask());
    for (let round = 0; round < 10 && !good.every((t) => h.store.recordOf(t)?.status === 'ready'); round++) {
      await h.publish();
      await h.clock.advance(1_000);
    }

    expect(good.every((t) => h.store.recordOf(t)?.status === 'ready')).toBe(true);
    expect(h.feed.taskWindows.at(-1)).toBeGreaterThanOrEqual(256 + 300);
    expect(h.log.messages('warn').filter((m) => m.startsWith('the main app refuses this task'))).toHaveLength(300);
    expect(h.store.records.size).toBe(10);
    await daemon.stop();
  });
});

describe('records whose app lives on another server', () => {
  it('are left alone: no create, no delete, however they stand; the task stays linked', async () => {
    const h = harness({ deleteGraceMs: 0, apiUri: 'https://instant.internal' });
    const daemon = h.daemon();
    daemon.start();
    const elsewhere = 'https://api.instantdb.com';
    const working = h.store.addTask();
    const gone = h.store.addTask();
    h.store.putRecord({ id: 'r1', taskId: working, name: 'calm-red-heron', apiUri: elsewhere });
    h.store.putRecord({
      id: 'r2',
      taskId: gone,
      name: 'swift-blue-otter',
      status: 'detached',
      detachedAt: 0,
      instantAppId: 'cloud-app',
      apiUri: elsewhere,
    });
    h.store.deleteTask(gone);
    await h.publish();
    await h.clock.advance(60_000);
    await h.publish();
    await h.clock.advance(60_000);

    expect(h.platform.calls).toMatchObject({ create: 0, createWithId: 0, delete: 0 });
    expect(h.store.records.get('r1')).toMatchObject({ status: 'provisioning' });
    expect(h.store.records.get('r2')).toMatchObject({ status: 'detached' });
    await daemon.stop();
  });

  it('a failed one comes here when its owner asks for a retry: it has no app anywhere', async () => {
    const h = harness({ apiUri: 'https://instant.internal', createVia: 'chosen-id' });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask(undefined, { ownerId: ALICE });
    h.store.putRecord({
      id: 'r1',
      taskId,
      name: 'calm-red-heron',
      status: 'failed',
      error: 'app-creation-disabled',
      firstAttemptAt: 0,
      apiUri: 'https://api.instantdb.com',
    });
    await h.publish();
    await h.clock.advance(60_000);
    expect(h.store.records.get('r1')).toMatchObject({ status: 'failed', apiUri: 'https://api.instantdb.com' });

    h.store.requestRetry(taskId, h.clock.now());
    await h.publish();
    await h.clock.until(() => h.store.records.get('r1')?.status === 'ready');
    expect(h.store.records.get('r1')).toMatchObject({ apiUri: 'https://instant.internal', attempts: 1 });
    expect(h.platform.liveApps().map((app) => app.id)).toEqual([h.store.records.get('r1')!.instantAppId]);
    await daemon.stop();
  });

  it('`retry` brings failed ones here with a fresh time budget', async () => {
    const h = harness({ apiUri: 'https://instant.internal' });
    const taskId = h.store.addTask();
    h.store.putRecord({
      id: 'r1',
      taskId,
      name: 'calm-red-heron',
      status: 'failed',
      attempts: 7,
      firstAttemptAt: 0,
      apiUri: 'https://api.instantdb.com',
    });
    const results = await retryTasks(
      { store: h.store, logger: h.log, owner: 'operator', home: 'https://instant.internal' },
      [taskId],
    );
    expect(results).toEqual([{ taskId, outcome: 'retried' }]);
    expect(h.store.records.get('r1')).toMatchObject({
      status: 'provisioning',
      attempts: 0,
      firstAttemptAt: null,
      apiUri: 'https://instant.internal',
    });
  });
});
