import { describe, expect, it } from 'vitest';
import { formatSummary } from '../../src/cli/reconcile.js';
import { PlatformError } from '../../src/errors.js';
import { settle } from '../fakes/fake-clock.js';
import { harness, testTemplate } from '../fakes/harness.js';

/** Runs `reconcile --once` on a fresh daemon, advancing the fake clock until it returns its summary. */
async function runOnceToEnd(h: ReturnType<typeof harness>, limitMs?: number, stepMs?: number) {
  let summary: Awaited<ReturnType<ReturnType<typeof h.daemon>['runOnce']>> | undefined;
  void h
    .daemon()
    .runOnce(new AbortController().signal)
    .then((result) => (summary = result));
  await h.clock.until(() => summary !== undefined, limitMs, stepMs);
  return summary!;
}

describe('reconcile --once', () => {
  it('processes every unlinked task present at start, in pages, and reports a summary', async () => {
    const h = harness({ windowSize: 10, concurrency: 3 });
    h.platform.latencyMs = 100;
    const tasks = Array.from({ length: 45 }, () => h.store.addTask());
    h.platform.then(
      { kind: 'ok' },
      { kind: 'fail', error: new PlatformError('rejected', 'validation-failed: bad title', { status: 400 }) },
    );
    const run = h.daemon().runOnce(new AbortController().signal);
    // A task created while the run goes on is left for the daemon.
    await h.clock.advance(300);
    const late = h.store.addTask();
    let summary: Awaited<typeof run> | undefined;
    void run.then((result) => (summary = result));
    await h.clock.until(() => summary !== undefined);

    expect(summary).toMatchObject({ ready: 44, failed: 1, skipped: 0, abortedBy: null });
    expect(tasks.filter((taskId) => h.store.recordOf(taskId)?.status === 'ready')).toHaveLength(44);
    expect(h.store.recordOf(late)).toBeUndefined();
    // Pages of the window size, never the whole backlog at once.
    expect(h.store.counts.list).toBeGreaterThan(4);
    expect(formatSummary(summary!)).toMatch(
      /^reconcile --once: 44 ready, 1 failed, 0 skipped, 0 orphan apps deleted in \d+\.\d s$/,
    );
  });

  it('finishes unfinished records left by a crashed daemon, waiting out their lease', async () => {
    const h = harness();
    const taskId = h.store.addTask();
    h.store.putRecord({
      id: 'rec-1',
      taskId,
      name: 'calm-red-heron',
      leaseOwner: 'crashed',
      leaseExpiresAt: h.clock.now() + 20_000,
      createdAt: h.clock.now(),
    });
    // The crashed daemon's create had landed.
    const crashed = await h.platform.createApp('calm-red-heron', testTemplate, new AbortController().signal);
    const leaseEnds = h.clock.now() + 20_000;
    const summary = await runOnceToEnd(h);

    expect(summary).toMatchObject({ ready: 1, failed: 0 });
    expect(h.exactlyOneAppPerTask()).toEqual([]);
    // The wait: nothing touched the record or its apps before the crashed daemon's lease ended;
    // then its app was found, deleted (its token is lost) and a new one made.
    expect(h.platform.createTimes).toHaveLength(2);
    expect(h.platform.createTimes[1]!).toBeGreaterThanOrEqual(leaseEnds);
    expect(h.platform.apps.get(crashed.id)!.deletedAt).toBeGreaterThanOrEqual(leaseEnds);
    expect(h.store.recordOf(taskId)!.instantAppId).not.toBe(crashed.id);
  });

  it('gives up on a record that keeps failing once, counts it once, and finishes', async () => {
    const h = harness();
    const taskId = h.store.addTask();
    const longAgo = h.clock.now() - 600_000;
    h.store.putRecord({
      id: 'rec-1',
      taskId,
      name: 'calm-red-heron',
      leaseOwner: 'crashed',
      leaseExpiresAt: longAgo,
      createdAt: longAgo,
    });
    // Looking for the crashed daemon's app never works.
    for (let i = 0; i < 1_000; i++)
      h.platform.listFailures.push(new PlatformError('server', 'unavailable', { status: 503 }));
    const summary = await runOnceToEnd(h, 3_600_000, 1_000);

    expect(summary).toMatchObject({ ready: 0, failed: 1, abortedBy: null });
    expect(h.log.messages('error').filter((message) => message.startsWith('giving up'))).toHaveLength(1);
    // The closing orphan sweep cannot list apps either: logged, and the summary still comes.
    expect(h.log.messages('warn')).toContain('orphan sweep failed; the next run or the daemon tries again');
  });

  it('stops early with the reason when a global condition blocks every create', async () => {
    const h = harness({ concurrency: 1 });
    h.store.addTask();
    h.store.addTask();
    h.platform.then({
      kind: 'fail',
      error: new PlatformError(
        'creation-disabled',
        'the server does not create apps any more (app-creation-disabled: Instant is winding down)',
        { status: 400 },
      ),
    });
    const summary = await runOnceToEnd(h);

    expect(summary.abortedBy).toContain('app-creation-disabled');
    expect(summary.failed).toBe(0);
    expect(h.platform.calls.create).toBe(1);
    expect(formatSummary(summary)).toMatch(/^reconcile --once stopped early \(.*app-creation-disabled.*\): 0 ready/);
    expect(h.log.messages('error').join('\n')).toContain('point INSTANT_API_URI at your own Instant server');
  });

  it('sweeps orphan apps of finished records at the end', async () => {
    const h = harness();
    const taskId = h.store.addTask();
    // Same title, but made long before the record: someone else's app, never touched.
    const older = await h.platform.createApp('calm-red-heron', testTemplate, new AbortController().signal);
    await h.clock.advance(120_000);
    const kept = await h.platform.createApp('calm-red-heron', testTemplate, new AbortController().signal);
    const orphan = await h.platform.createApp('calm-red-heron', testTemplate, new AbortController().signal);
    const unrelated = await h.platform.createApp('my-own-app', testTemplate, new AbortController().signal);
    // A restore under way names its new app, titled as the record, before creating it.
    const pending = await h.platform.createApp('calm-red-heron', testTemplate, new AbortController().signal);
    h.store.putRecord({
      id: 'rec-1',
      taskId,
      name: 'calm-red-heron',
      status: 'ready',
      instantAppId: kept.id,
      pendingAppId: pending.id,
      createdAt: h.clock.now() - 1_000,
    });
    const summary = await runOnceToEnd(h);

    expect(summary).toMatchObject({ ready: 0, failed: 0, orphansDeleted: 1 });
    expect(
      h.platform
        .liveApps()
        .map((app) => app.id)
        .sort(),
    ).toEqual([older.id, kept.id, unrelated.id, pending.id].sort());
    expect(h.platform.apps.get(orphan.id)!.deletedAt).not.toBeNull();
  });
});

describe('shutdown', () => {
  it('stops taking work, lets creates in flight finish and record, then stops watching', async () => {
    const h = harness({ concurrency: 2 });
    h.platform.latencyMs = 3_000;
    const daemon = h.daemon();
    daemon.start();
    const tasks = Array.from({ length: 6 }, () => h.store.addTask());
    h.feed.pushTasks(tasks);
    await h.clock.until(() => h.platform.inFlight === 2);

    let stopped: { drained: boolean } | undefined;
    void daemon.stop().then((result) => (stopped = result));
    await settle();
    expect(h.feed.watching).toBe(0);
    h.feed.pushTasks(tasks);
    await h.clock.until(() => stopped !== undefined);

    expect(stopped).toEqual({ drained: true });
    const ready = tasks.filter((taskId) => h.store.recordOf(taskId)?.status === 'ready');
    expect(ready).toHaveLength(2);
    expect(h.platform.calls.create).toBe(2);
    // Nothing else was sent; records claimed but never sent are handed over at once.
    const unsent = tasks
      .map((taskId) => h.store.recordOf(taskId))
      .filter((record) => record && record.status !== 'ready');
    expect(unsent.length).toBeGreaterThan(0);
    expect(unsent.every((record) => record!.leaseOwner === null)).toBe(true);
    await h.clock.advance(60_000);
    expect(h.platform.calls.create).toBe(2);
    expect(h.platform.liveApps()).toHaveLength(2);
  });

  it('gives up waiting after the grace period', async () => {
    const h = harness({ shutdownGraceMs: 25_000, requestTimeoutMs: 30_000, leaseMs: 60_000 });
    h.platform.then({ kind: 'hang' });
    const daemon = h.daemon();
    daemon.start();
    h.feed.pushTasks([h.store.addTask()]);
    await h.clock.until(() => h.platform.inFlight === 1);
    const stoppedAt = h.clock.now();
    let stopped: { drained: boolean } | undefined;
    void daemon.stop().then((result) => (stopped = result));
    await h.clock.until(() => stopped !== undefined);
    expect(stopped).toEqual({ drained: false });
    expect(h.clock.now() - stoppedAt).toBe(25_000);
  });

  it('is idempotent', async () => {
    const h = harness();
    const daemon = h.daemon();
    daemon.start();
    daemon.start();
    expect(h.feed.watching).toBe(1);
    await Promise.all([daemon.stop(), daemon.stop()]);
    expect(await daemon.stop()).toEqual({ drained: true });
    // The start-up sweep's listing, batched for a moment, finishes; then nothing is left scheduled.
    await h.clock.advance(100);
    expect(h.clock.pendingTimers).toBe(0);
  });
});

describe('level-triggered safety nets', () => {
  it("a resync sees other daemons' records even when its own fill the window", async () => {
    const h = harness({ windowSize: 2 });
    const daemon = h.daemon();
    const now = h.clock.now();
    // The two oldest records are this daemon's own (held, as if mid-create)...
    for (const n of [1, 2])
      h.store.putRecord({
        id: `own-${n}`,
        taskId: h.store.addTask(),
        name: `own-record-${n}`,
        leaseOwner: daemon.owner,
        leaseExpiresAt: now + 600_000,
        createdAt: now - 10_000,
      });
    // ...and a dead daemon left a newer one, which the feed will never mention again.
    const orphaned = h.store.addTask();
    h.store.putRecord({
      id: 'dead-1',
      taskId: orphaned,
      name: 'dead-record-1',
      leaseOwner: 'dead',
      leaseExpiresAt: now - 60_000,
      createdAt: now - 5_000,
    });
    daemon.start();
    await h.clock.until(() => h.store.recordOf(orphaned)?.status === 'ready', 30_000);
    await daemon.stop();
  });

  it('re-reads the store on a timer, so tasks the feed never mentions still get a database', async () => {
    const h = harness({ resyncIntervalMs: 60_000 });
    const daemon = h.daemon();
    daemon.start();
    await h.clock.advance(1_000);
    const taskId = h.store.addTask();
    await h.clock.advance(58_000);
    expect(h.store.recordOf(taskId)).toBeUndefined();
    await h.clock.until(() => h.store.recordOf(taskId)?.status === 'ready', 5_000);
    await daemon.stop();
  });
});
