/**
 * What one reconciler remembers about records it holds, against a second
 * reconciler on the same main app: an own lease that ran out, and memory that
 * must not outlive the record.
 */
import { describe, expect, it } from 'vitest';
import type { PlatformClient, Store, TemplateClient } from '../../src/core/ports.js';
import { TaskReconciler } from '../../src/core/task-reconciler.js';
import { StoreError } from '../../src/errors.js';
import { FakeClock, settle } from '../fakes/fake-clock.js';
import { FakeCopier } from '../fakes/fake-copier.js';
import { FakePlatform } from '../fakes/fake-platform.js';
import { FakeStore } from '../fakes/fake-store.js';
import { LogSink } from '../fakes/log-sink.js';
import { creatorFor, testConfig, testTemplate } from '../fakes/harness.js';

function setup() {
  const clock = new FakeClock();
  const store = new FakeStore();
  const platform = new FakePlatform(clock);
  const log = new LogSink();
  const config = testConfig();
  let ids = 0;
  const reconciler = (owner: string, client: PlatformClient & TemplateClient = platform, via: Store = store) =>
    new TaskReconciler(
      {
        store: via,
        creator: creatorFor('server-id', { platform: client, store: via, clock, owner }),
        copier: new FakeCopier(platform, clock),
        clock,
        logger: log.child({ owner }),
        random: () => 0.5,
        newId: () => `${owner}-record-${++ids}`,
        newName: () => `${owner}-name-${++ids}`,
        template: testTemplate,
      },
      {
        owner,
        apiUri: 'http://127.0.0.1:1',
        leaseMs: config.leaseMs,
        requestTimeoutMs: config.requestTimeoutMs,
        settleMarginMs: config.settleMarginMs,
        giveUpAfterMs: config.giveUpAfterMs,
        maxAttempts: config.maxAttempts,
        backoff: { baseMs: config.backoffBaseMs, maxMs: config.backoffMaxMs },
        retirement: { onTaskDelete: config.onTaskDelete, graceMs: config.deleteGraceMs },
        maxDatabasesPerOwner: undefined,
        forkSourceMissing: 'fail',
      },
    );
  return { clock, store, platform, reconciler };
}

const signal = new AbortController().signal;

describe('custody of a record', () => {
  it('renews its own lapsed lease, fenced, before deleting apps by title, so it never deletes an app another daemon recorded', async () => {
    const { clock, store, platform, reconciler } = setup();
    const taskId = store.addTask();
    const now = clock.now();
    store.putRecord({
      id: 'record-1',
      taskId,
      name: 'calm-red-heron',
      attempts: 1,
      createdAt: now - 120_000,
      leaseOwner: 'a',
      leaseExpiresAt: now - 10_000,
      generation: 2,
    });
    // Daemon a remembers nothing (as after a long backoff) and its listing is slow in transit.
    let deliverListing!: () => void;
    const listingHeld = new Promise<void>((resolve) => (deliverListing = resolve));
    const slow = Object.create(platform) as FakePlatform;
    slow.listApps = async (filter) => {
      await listingHeld;
      return platform.listApps(filter);
    };
    const a = reconciler('a', slow);
    const b = reconciler('b');

    const passOfA = a.reconcile(taskId, signal);
    await settle(20);
    // b sees a's renewed lease and waits, instead of taking over and creating an app a would then delete.
    expect(await b.reconcile(taskId, signal)).toMatchObject({ kind: 'leased' });
    deliverListing();
    let outcomeOfA: unknown;
    void passOfA.then((outcome) => (outcomeOfA = outcome));
    await clock.until(() => outcomeOfA !== undefined);
    expect(outcomeOfA).toEqual({ kind: 'done', result: 'ready' });

    const record = store.recordOf(taskId)!;
    expect(record).toMatchObject({ status: 'ready' });
    expect(platform.liveApps().map((app) => app.id)).toEqual([record.instantAppId]);
  });

  it('a ready write of its own that lands late is not taken for a takeover: the app it recorded stays', async () => {
    const { clock, store, platform, reconciler } = setup();
    const taskId = store.addTask();
    // The ready write times out on our side and reaches the main app later, just
    // after the next pass has read the record as still provisioning.
    let lateWrite: (() => Promise<void>) | null = null;
    const late: Store = Object.create(store) as Store;
    late.update = async (record, owner, changes, options) => {
      if (changes.status !== 'ready' || lateWrite) return store.update(record, owner, changes, options);
      lateWrite = () => store.update(record, owner, changes, options);
      throw new StoreError('unavailable', 'the main app did not answer in time');
    };
    let landed = false;
    late.loadTask = async (id) => {
      const state = await store.loadTask(id);
      if (lateWrite && !landed) {
        landed = true;
        await lateWrite();
      }
      return state;
    };
    const a = reconciler('a', platform, late);

    await expect(
      a.reconcile(taskId, signal, { unlinked: { id: taskId, ownerId: null, forkedFrom: null } }),
    ).rejects.toThrow('did not answer');
    for (let pass = 0; pass < 5; pass++) {
      const outcome = await a.reconcile(taskId, signal);
      if (outcome.kind === 'done') break;
      await clock.advance(outcome.kind === 'retry' ? outcome.afterMs : 1_000);
    }

    const record = store.recordOf(taskId)!;
    expect(record).toMatchObject({ status: 'ready' });
    expect(platform.liveApps().map((app) => app.id)).toEqual([record.instantAppId]);
    expect(a.custodySize).toBe(0);
  });

  it('forgets a record another daemon finished, deleting the app it made but could not record', async () => {
    const { clock, store, platform, reconciler } = setup();
    const taskId = store.addTask();
    const a = reconciler('a');
    const b = reconciler('b');

    // a creates an app; its ready write fails before reaching the store.
    store.failNext('update', new StoreError('unavailable', 'the main app did not answer in time'));
    await expect(
      a.reconcile(taskId, signal, { unlinked: { id: taskId, ownerId: null, forkedFrom: null } }),
    ).rejects.toThrow('did not answer');
    expect(a.custodySize).toBe(1);
    const [appOfA] = platform.liveApps();

    // a's lease runs out; b takes over, creates its own app and records it.
    await clock.advance(testConfig().leaseMs + testConfig().settleMarginMs + 1_000);
    let outcomeOfB: unknown;
    void b.reconcile(taskId, signal).then((outcome) => (outcomeOfB = outcome));
    await clock.until(() => outcomeOfB !== undefined);
    expect(outcomeOfB).toEqual({ kind: 'done', result: 'ready' });

    // a's next pass sees the finished record: it keeps nothing, and its own app is gone.
    expect(await a.reconcile(taskId, signal)).toEqual({ kind: 'done', result: 'skipped' });
    expect(a.custodySize).toBe(0);
    expect(platform.liveApps().map((app) => app.id)).toEqual([store.recordOf(taskId)!.instantAppId]);
    expect(platform.liveApps().map((app) => app.id)).not.toContain(appOfA!.id);
  });
});
