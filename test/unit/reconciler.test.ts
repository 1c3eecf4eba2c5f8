import { describe, expect, it } from 'vitest';
import { PlatformError, StoreError } from '../../src/errors.js';
import { harness } from '../fakes/harness.js';

describe('reconciling tasks', () => {
  it('claims, provisions and links a new task', async () => {
    const h = harness();
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    const record = h.store.recordOf(taskId)!;
    expect(h.store.tasks.get(taskId)!.mainDatabaseId).toBe(record.id);
    expect(record).toMatchObject({ status: 'ready', attempts: 1, error: null, leaseOwner: null, leaseExpiresAt: null });
    const [app] = h.platform.liveApps();
    expect(app).toMatchObject({ id: record.instantAppId, title: record.name, adminToken: record.adminToken });
    expect(record.name).toMatch(/^swift-blue-otter-\d+$/);
    expect(h.log.messages('info')).toEqual(['reconciling', 'claimed task', 'database ready']);
    expect(h.log.messages('debug')).toContain('app created');
    const ready = h.log.entries.find((entry) => entry.message === 'database ready')!;
    expect(ready.fields).toMatchObject({ taskId, databaseId: record.id, appId: app!.id, attempt: 1 });
    expect(ready.fields.durationMs).toEqual(expect.any(Number));
    // A task the feed shows without a database is claimed without a read first: two writes, no read.
    expect([h.store.counts.loadTask, h.store.counts.claim, h.store.counts.update]).toEqual([0, 1, 1]);
    expect(h.feed.owners).toEqual([daemon.owner]);
    await daemon.stop();
  });

  it('the record is visible as provisioning before any Platform call', async () => {
    const h = harness();
    h.platform.latencyMs = 1_000;
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.platform.inFlight === 1);
    expect(h.store.recordOf(taskId)).toMatchObject({ status: 'provisioning', leaseOwner: daemon.owner });
    expect(h.store.tasks.get(taskId)!.mainDatabaseId).toBe(h.store.recordOf(taskId)!.id);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    await daemon.stop();
  });

  it('never provisions twice for repeated snapshots or for two daemons on the same app', async () => {
    const h = harness({ concurrency: 3 });
    h.platform.latencyMs = 200;
    const one = h.daemon();
    const two = h.daemon();
    one.start();
    two.start();
    const tasks = Array.from({ length: 30 }, () => h.store.addTask());
    for (let i = 0; i < 5; i++) {
      h.feed.pushTasks(tasks);
      await h.clock.advance(50);
    }
    await h.clock.until(() => tasks.every((taskId) => h.store.recordOf(taskId)?.status === 'ready'));
    h.feed.pushTasks(tasks);
    await h.clock.advance(1_000);

    expect(h.platform.calls.create).toBe(30);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await Promise.all([one.stop(), two.stop()]);
  });

  it('never exceeds the concurrency limit', async () => {
    const h = harness({ concurrency: 3 });
    h.platform.latencyMs = 100;
    const daemon = h.daemon();
    daemon.start();
    const tasks = Array.from({ length: 40 }, () => h.store.addTask());
    h.feed.pushTasks(tasks);
    await h.clock.until(() => tasks.every((taskId) => h.store.recordOf(taskId)?.status === 'ready'));
    expect(h.platform.maxInFlight).toBe(3);
    await daemon.stop();
  });

  it('after a crash between create and record, the next daemon deletes the orphan found by name and ends with one live app', async () => {
    const h = harness();
    const first = h.daemon();
    // The "crash": the write that records the app never comes back.
    h.store.beforeOperation = (op) => (op === 'update' ? new Promise(() => {}) : undefined);
    first.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.platform.calls.create === 1);
    await h.clock.advance(100);
    const orphan = h.platform.liveApps()[0]!;
    void first.stop();

    h.store.beforeOperation = () => {};
    const feed = new (h.feed.constructor as typeof import('../fakes/fake-feed.js').FakeFeed)();
    const second = h.daemon({ feed });
    second.start();
    feed.pushRecords([{ ...h.store.recordOf(taskId)! }]);
    feed.pushTasks([]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    const record = h.store.recordOf(taskId)!;
    expect(record.leaseOwner).toBeNull();
    expect(record.instantAppId).not.toBe(orphan.id);
    expect(h.platform.apps.get(orphan.id)!.deletedAt).not.toBeNull();
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    // It waited for the first daemon's lease (plus the settle margin) before touching anything.
    const takeover = h.log.entries.find((entry) => entry.message === 'took over record')!;
    expect(takeover.fields.previousOwner).toBe(first.owner);
    expect(h.log.messages('info')).toContain('deleted orphan app');
    await second.stop();
  });

  it('never sends a create unless its lease outlives the request timeout plus the margin', async () => {
    const h = harness({ concurrency: 1, leaseMs: 30_000, requestTimeoutMs: 10_000, settleMarginMs: 5_000 });
    h.platform.latencyMs = 9_000;
    const leaseLeftAtSend: number[] = [];
    const createApp = h.platform.createApp.bind(h.platform);
    h.platform.createApp = (title, template, signal) => {
      const record = [...h.store.records.values()].find((r) => r.name === title)!;
      leaseLeftAtSend.push(record.leaseExpiresAt! - h.clock.now());
      return createApp(title, template, signal);
    };
    const daemon = h.daemon();
    daemon.start();
    const tasks = Array.from({ length: 4 }, () => h.store.addTask());
    h.feed.pushTasks(tasks);
    await h.clock.until(() => tasks.every((taskId) => h.store.recordOf(taskId)?.status === 'ready'));

    // All four were claimed at once; the last waited 27 s for the single slot, so its lease had to be renewed.
    expect(leaseLeftAtSend).toHaveLength(4);
    expect(Math.min(...leaseLeftAtSend)).toBeGreaterThanOrEqual(15_000);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('a lost create response: looks up the app by name, deletes it, creates again', async () => {
    const h = harness();
    h.platform.then({ kind: 'lost' });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    expect(h.platform.calls.create).toBe(2);
    expect(h.platform.calls.list).toBeGreaterThanOrEqual(1);
    expect(h.platform.apps.size).toBe(2);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    expect(h.store.recordOf(taskId)!.attempts).toBe(2);
    await daemon.stop();
  });

  it('a lost answer whose app was committed is found at once: the app is deleted and the next create goes without waiting', async () => {
    const h = harness({ requestTimeoutMs: 10_000, settleMarginMs: 5_000, backoffBaseMs: 1_000 });
    h.platform.then({ kind: 'lost' });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    const [first, second] = h.platform.createTimes;
    // Not request timeout + margin (15 s), nor even the backoff: one listing's batching.
    expect(second! - first!).toBeLessThan(1_000);
    const orphan = [...h.platform.apps.values()].find((app) => app.id !== h.store.recordOf(taskId)!.instantAppId)!;
    expect(orphan.deletedAt).not.toBeNull();
    expect(orphan.deletedAt!).toBeLessThanOrEqual(second!);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('a lost answer whose app is not there yet takes the safe path: it waits out timeout + margin before creating again', async () => {
    const h = harness({ requestTimeoutMs: 10_000, settleMarginMs: 5_000 });
    // The connection drops while the request is still on its way: the app appears 8 s later.
    h.platform.then({ kind: 'dropped', landsAfterMs: 8_000 });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    const [first, retried] = h.platform.createTimes;
    // The look at once found nothing; the look after the wait found the late app and deleted it.
    expect(h.platform.calls.list).toBeGreaterThanOrEqual(2);
    expect(retried! - first!).toBeGreaterThanOrEqual(15_000);
    expect(h.platform.apps.size).toBe(2);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('a create with no answer is not repeated until it can no longer land, and its late app is deleted', async () => {
    const h = harness({ requestTimeoutMs: 10_000, settleMarginMs: 5_000 });
    // The server makes the app 12 s after the request: after our timeout, before the margin ends.
    h.platform.then({ kind: 'hang', landsAfterMs: 12_000 });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.platform.calls.create === 2);

    expect(h.platform.createTimes[1]! - h.platform.createTimes[0]!).toBeGreaterThanOrEqual(15_000);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    expect(h.platform.apps.size).toBe(2);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('retries a 5xx (deleting any app it may have made) and then succeeds', async () => {
    const h = harness();
    h.platform.then(
      { kind: 'created-then-500' },
      { kind: 'fail', error: new PlatformError('server', 'server error', { status: 503 }) },
    );
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');

    expect(h.platform.calls.create).toBe(3);
    expect(h.store.recordOf(taskId)!.attempts).toBe(3);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    const retries = h.log.entries.filter((entry) => entry.message === 'create failed; will retry');
    expect(retries.map((entry) => entry.fields.attempt)).toEqual([1, 2]);
    await daemon.stop();
  });

  it('waits as long as a 429 Retry-After says, for every create', async () => {
    const h = harness({ concurrency: 1 });
    h.platform.then({
      kind: 'fail',
      error: new PlatformError('rate-limited', 'rate limited', { status: 429, retryAfterMs: 7_000 }),
    });
    const daemon = h.daemon();
    daemon.start();
    const first = h.store.addTask();
    const second = h.store.addTask();
    h.feed.pushTasks([first, second]);
    await h.clock.until(() => h.platform.calls.create === 1);
    const limitedAt = h.platform.createTimes[0]!;
    await h.clock.until(() => [first, second].every((taskId) => h.store.recordOf(taskId)?.status === 'ready'));

    expect(h.platform.createTimes.slice(1).every((at) => at - limitedAt >= 7_000)).toBe(true);
    expect(h.platform.createTimes[1]! - limitedAt).toBeLessThan(7_500);
    // A rate limit is nobody's fault: it does not count as an attempt.
    expect(h.store.recordOf(first)!.attempts).toBe(1);
    await daemon.stop();
  });

  it('marks a permanent 4xx as failed with the message, clients see it', async () => {
    const h = harness();
    h.platform.then({
      kind: 'fail',
      error: new PlatformError('rejected', 'validation-failed: title is too long', { status: 400 }),
    });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'failed');

    expect(h.store.recordOf(taskId)).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: 'validation-failed: title is too long (HTTP 400)',
      leaseOwner: null,
    });
    expect(h.store.tasks.get(taskId)!.mainDatabaseId).toBe(h.store.recordOf(taskId)!.id);
    expect(h.platform.calls.create).toBe(1);
    await daemon.stop();
  });

  it('marks a record failed after the configured attempts, leaving no app behind', async () => {
    const h = harness({ maxAttempts: 3 });
    h.platform.then({ kind: 'created-then-500' }, { kind: 'created-then-500' }, { kind: 'created-then-500' });
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'failed');

    expect(h.platform.calls.create).toBe(3);
    expect(h.store.recordOf(taskId)).toMatchObject({ attempts: 3, error: expect.stringContaining('HTTP 500') });
    expect(h.platform.liveApps()).toEqual([]);
    await daemon.stop();
  });

  it('a rejected platform token pauses every create without failing any task, then resumes', async () => {
    const h = harness({ concurrency: 1 });
    const rejected = () => new PlatformError('token-rejected', 'the platform token was rejected', { status: 400 });
    h.platform.then({ kind: 'fail', error: rejected() }, { kind: 'fail', error: rejected() });
    const daemon = h.daemon();
    daemon.start();
    const tasks = [h.store.addTask(), h.store.addTask(), h.store.addTask()];
    h.feed.pushTasks(tasks);
    await h.clock.advance(10_000);

    expect(h.platform.calls.create).toBe(1);
    expect(tasks.every((taskId) => h.store.recordOf(taskId)?.status !== 'failed')).toBe(true);
    expect(h.log.entries.filter((entry) => entry.level === 'error').map((entry) => entry.message)).toEqual([
      expect.stringContaining('rejected the platform token'),
    ]);
    // Probes go out one at a time, minutes apart; the second probe succeeds and everything proceeds.
    await h.clock.until(() => tasks.every((taskId) => h.store.recordOf(taskId)?.status === 'ready'), 3_600_000, 1_000);
    expect(h.platform.calls.create).toBe(2 + 3);
    expect(h.platform.createTimes[1]! - h.platform.createTimes[0]!).toBeGreaterThanOrEqual(15_000);
    expect(tasks.every((taskId) => h.store.recordOf(taskId)!.attempts === 1)).toBe(true);
    await daemon.stop();
  });

  it('deletes the app and the record when the task is deleted while provisioning', async () => {
    const h = harness();
    h.platform.latencyMs = 1_000;
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.platform.inFlight === 1);
    h.store.deleteTask(taskId);
    await h.clock.until(() => h.store.recordOf(taskId) === undefined);

    expect(h.platform.apps.size).toBe(1);
    expect(h.platform.liveApps()).toEqual([]);
    await daemon.stop();
  });

  it('finds and repairs records edited into a bad state: ready without an app id, an unknown status', async () => {
    const h = harness();
    const first = h.store.addTask();
    const second = h.store.addTask();
    h.store.putRecord({ id: 'rec-1', taskId: first, name: 'calm-red-heron', status: 'ready', generation: 4 });
    h.store.putRecord({ id: 'rec-2', taskId: second, name: 'bold-tan-ibis', status: 'pending' });
    const daemon = h.daemon();
    // Neither task is unlinked and neither record is provisioning: only the resync's read of broken records finds them.
    daemon.start();
    await h.clock.until(() => h.exactlyOneAppPerTask().length === 0, 10_000);
    expect(h.store.recordOf(first)).toMatchObject({ id: 'rec-1', status: 'ready' });
    expect(h.store.recordOf(second)).toMatchObject({ id: 'rec-2', status: 'ready' });
    expect(
      h.log.messages('warn').filter((message) => message === 'record is in a bad state; provisioning it again'),
    ).toHaveLength(2);
    await daemon.stop();
  });

  it('takes over a lease from the far future at once, and waits for a plausible one', async () => {
    const h = harness();
    const bogus = h.store.addTask();
    const live = h.store.addTask();
    const now = h.clock.now();
    h.store.putRecord({
      id: 'rec-bogus',
      taskId: bogus,
      name: 'n-bogus',
      leaseOwner: 'someone',
      leaseExpiresAt: now + 10 * 365 * 86_400_000,
    });
    h.store.putRecord({
      id: 'rec-live',
      taskId: live,
      name: 'n-live',
      leaseOwner: 'other-daemon',
      leaseExpiresAt: now + 30_000,
    });
    const daemon = h.daemon();
    daemon.start();
    h.feed.pushRecords([...['rec-bogus', 'rec-live'].map((id) => h.store.records.get(id)!)]);
    await h.clock.until(() => h.store.recordOf(bogus)?.status === 'ready', 20_000);
    expect(h.store.recordOf(live)!.status).toBe('provisioning');
    await h.clock.until(() => h.store.recordOf(live)?.status === 'ready');
    expect(h.clock.now() - now).toBeGreaterThanOrEqual(35_000);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await daemon.stop();
  });

  it('of two daemons taking over one expired lease, exactly one proceeds', async () => {
    const h = harness();
    const taskId = h.store.addTask();
    h.store.putRecord({
      id: 'rec-1',
      taskId,
      name: 'n-1',
      leaseOwner: 'dead-daemon',
      leaseExpiresAt: h.clock.now() - 60_000,
      generation: 3,
    });
    // Both read generation 3 before either writes.
    let reads = 0;
    let release: () => void = () => {};
    const bothRead = new Promise<void>((resolve) => (release = resolve));
    h.store.beforeOperation = async (op) => {
      if (op !== 'loadTask' || reads >= 2) return;
      if (++reads === 2) release();
      await bothRead;
    };
    const feeds = [
      new (h.feed.constructor as typeof import('../fakes/fake-feed.js').FakeFeed)(),
      new (h.feed.constructor as typeof import('../fakes/fake-feed.js').FakeFeed)(),
    ];
    const daemons = feeds.map((feed) => h.daemon({ feed }));
    daemons.forEach((daemon) => daemon.start());
    feeds.forEach((feed) => feed.pushRecords([h.store.records.get('rec-1')!]));
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    await h.clock.advance(120_000);

    expect(h.log.entries.filter((entry) => entry.message === 'took over record')).toHaveLength(1);
    expect(h.platform.calls.create).toBe(1);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    await Promise.all(daemons.map((daemon) => daemon.stop()));
  });

  it('a daemon that loses its record while creating deletes the app it made', async () => {
    const h = harness({ leaseMs: 20_000, requestTimeoutMs: 10_000, settleMarginMs: 1_000 });
    h.platform.latencyMs = 5_000;
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.platform.inFlight === 1);
    // Someone else moves the record on (e.g. a takeover after a long pause).
    const record = h.store.recordOf(taskId)!;
    await h.store.update(record, 'intruder', { leaseOwner: 'intruder' });
    await h.clock.until(() => h.platform.calls.delete === 1);
    expect(h.platform.liveApps()).toEqual([]);
    expect(h.store.recordOf(taskId)!.status).toBe('provisioning');
    expect(h.log.messages('warn')).toContain('another write moved the record first; checking it again');
    expect(h.log.messages('info')).toContain('the record does not hold the app we made; deleting it');
    await daemon.stop();
  });

  it('treats a unique violation on the task as "someone has it"', async () => {
    const h = harness();
    const taskId = h.store.addTask();
    h.store.failNext('claim', new StoreError('unique-violation', 'taken', { etype: 'databases', label: 'taskId' }));
    const daemon = h.daemon();
    daemon.start();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    expect(h.store.counts.claim).toBe(2);
    await daemon.stop();
  });

  it('picks another name when the generated one is taken', async () => {
    const h = harness();
    const other = h.store.addTask();
    h.store.putRecord({
      id: 'rec-x',
      taskId: other,
      name: 'swift-blue-otter-1',
      status: 'ready',
      instantAppId: 'app-x',
    });
    const taskId = h.store.addTask();
    const daemon = h.daemon();
    daemon.start();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    expect(h.store.recordOf(taskId)!.name).toBe('swift-blue-otter-2');
    await daemon.stop();
  });

  it('retries store failures with backoff and recovers a created app that could not be recorded', async () => {
    const h = harness();
    h.store.failNext('update', new StoreError('unavailable', 'main app unavailable (HTTP 503)', { status: 503 }));
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    expect(h.platform.calls.create).toBe(1);
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    expect(h.log.messages('warn')).toContain('reconcile failed; will retry');
    await daemon.stop();
  });

  it('waits as long as the main app asks after a 429 on a store call, not the shorter backoff', async () => {
    const h = harness({ backoffBaseMs: 100, backoffMaxMs: 1_000 });
    h.store.failNext(
      'update',
      new StoreError('unavailable', 'main app unavailable (rate-limited)', { status: 429, retryAfterMs: 30_000 }),
    );
    const daemon = h.daemon();
    daemon.start();
    const taskId = h.store.addTask();
    h.feed.pushTasks([taskId]);
    await h.clock.until(() => h.store.counts.update === 1);
    const failedAt = h.clock.now();
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready');
    expect(h.clock.now() - failedAt).toBeGreaterThanOrEqual(30_000);
    const warning = h.log.entries.find((entry) => entry.message === 'reconcile failed; will retry')!;
    expect(warning.fields.retryInMs).toBe(30_000);
    await daemon.stop();
  });
});
