/**
 * Bad input from the outside world, through the real SDK and the sandbox: clear errors, nothing lost.
 * The daemon and the sandbox run on a fake clock that the test moves only while the daemon waits on
 * nothing but time (see eventuallyOn): a request timeout, a lease or a settle margin ends because
 * the test moved time, never because the machine was busy. The SDK's HTTP and SSE run in real time;
 * no deadline and no assertion depends on how long they take.
 */
import { id } from '@instantdb/admin';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../fakes/fake-clock.js';
import {
  audit,
  createTasks,
  eventually,
  eventuallyOn,
  provisioner,
  settledOn,
  world,
  type InProcessDaemon,
  type World,
} from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

// The production request timeout, lease, settle margin and backoff: on the fake clock they cost
// no wall time. Enough attempts that no task gives up while the faults last.
const settings = { maxAttempts: '50' };

/** Stops the daemon, moving the clock while its work in flight finishes. */
async function stop(clock: FakeClock, daemon: InProcessDaemon) {
  return settledOn(clock, daemon, daemon.provisioner.stop());
}

describe.each(['chosen-id', 'server-id'] as const)('bad Platform API answers, %s', (createVia) => {
  it.each([
    ['a 200 without admin-token (the app was made)', { pMissingToken: 1 }, 'createMissingToken'],
    ['an HTML 502 page', { pMalformed: 1 }, 'createMalformed'],
    ['no answer at all', { pHang: 1 }, 'createHang'],
    ['a dropped connection after the app was made', { pLost: 1 }, 'createLost'],
  ] as const)('%s: retried, any stray app deleted, one app per task in the end', async (_name, faults, kind) => {
    const clock = new FakeClock();
    const w = (current = await world({ faults, clock }));
    const daemon = provisioner(w, { ...settings, createVia });
    const { log } = daemon;
    daemon.provisioner.start();
    const tasks = await createTasks(w.db, 3, clock);
    await eventuallyOn(clock, daemon, () => w.sandbox.stats().faults[kind] >= 3);
    w.sandbox.faults.reset();
    await eventuallyOn(clock, daemon, async () => (await audit(w)).problems.length === 0);
    expect(await stop(clock, daemon)).toEqual({ drained: true });

    expect(tasks).toHaveLength(3);
    const result = await audit(w);
    expect(result).toMatchObject({ tasks: 3, live: 3, problems: [] });
    // A chosen id needs nothing from the answer: a 200 without admin-token is a success there.
    if (createVia === 'server-id' || kind !== 'createMissingToken')
      expect(log.messages('warn')).toContain('create failed; will retry');
    // The chosen-id path never lists the account, and leaves no stray app to delete.
    if (createVia === 'chosen-id') expect(w.sandbox.stats().lists).toBe(0);
    expect(log.messages('error')).toEqual([]);
  });
});

describe('records and tasks changed by hand', () => {
  it('a record edited to "ready" without an app, or with a lease from the far future, is provisioned again', async () => {
    const clock = new FakeClock();
    const w = (current = await world({ clock }));
    const [first, second] = await createTasks(w.db, 2, clock);
    const far = clock.now() + 50 * 365 * 86_400_000;
    const records = [id(), id()];
    await w.db.transact([
      w.db.tx.databases[records[0]!]!.update({
        taskId: first!,
        name: 'hand-made-one',
        status: 'ready',
        createdAt: clock.now(),
        generation: 3,
      }),
      w.db.tx.tasks[first!]!.link({ mainDatabase: records[0]! }),
      w.db.tx.databases[records[1]!]!.update({
        taskId: second!,
        name: 'hand-made-two',
        status: 'provisioning',
        createdAt: clock.now(),
        leaseOwner: 'ghost',
        leaseExpiresAt: far,
      }),
      w.db.tx.tasks[second!]!.link({ mainDatabase: records[1]! }),
    ]);
    // Neither task is unlinked: the daemon's read of broken records finds the first, its records watch the second.
    const daemon = provisioner(w, settings);
    const { log } = daemon;
    daemon.provisioner.start();
    await eventuallyOn(clock, daemon, async () => (await audit(w)).problems.length === 0);
    expect(await stop(clock, daemon)).toEqual({ drained: true });
    const { databases } = await w.db.query({ databases: {} });
    expect(databases.map((record) => record.id).sort()).toEqual([...records].sort());
    expect(log.messages('warn')).toEqual(
      expect.arrayContaining([
        'record is in a bad state; provisioning it again',
        'lease ends implausibly far in the future; treating it as expired',
      ]),
    );
  });

  it('a task deleted while its database is provisioning leaves no app and no record behind', async () => {
    // The create's latency runs on the fake clock: it is held until the test moves time.
    const clock = new FakeClock();
    const w = (current = await world({ faults: { createLatency: 400 }, clock }));
    const daemon = provisioner(w, settings);
    daemon.provisioner.start();
    const [taskId] = await createTasks(w.db, 1, clock);
    // Time stands still here: the record is claimed and its create reaches the sandbox by events alone.
    await eventually(() => w.sandbox.stats().faults.createDelayed === 1);
    expect((await w.db.query({ databases: {} })).databases).toHaveLength(1);
    await w.db.transact(w.db.tx.tasks[taskId!]!.delete());
    await eventuallyOn(clock, daemon, async () => (await w.db.query({ databases: {} })).databases.length === 0);
    await eventuallyOn(clock, daemon, () => w.sandbox.apps().filter((app) => app.deletedAt === null).length === 1); // the main app
    expect(await stop(clock, daemon)).toEqual({ drained: true });
    expect(daemon.log.messages('warn')).toEqual([]);
    expect(daemon.log.messages('error')).toEqual([]);
  });
});
