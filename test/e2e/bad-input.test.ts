/** Bad input from the outside world, through the real SDK and the sandbox: clear errors, nothing lost. */
import { id } from '@instantdb/admin';
import { afterEach, describe, expect, it } from 'vitest';
import { audit, createTasks, eventually, provisioner, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

// Short enough for hung creates to time out quickly, long enough that a busy machine's
// main-app writes never hit the deadline (which would log errors this test forbids).
const fast = {
  requestTimeout: '1500',
  lease: '4000',
  settleMargin: '200',
  backoffBase: '20',
  backoffMax: '100',
  maxAttempts: '50',
};

describe('bad Platform API answers', () => {
  it.each([
    ['a 200 without admin-token (the app was made)', { pMissingToken: 1 }, 'createMissingToken'],
    ['an HTML 502 page', { pMalformed: 1 }, 'createMalformed'],
    ['no answer at all', { pHang: 1 }, 'createHang'],
    ['a dropped connection after the app was made', { pLost: 1 }, 'createLost'],
  ] as const)('%s: retried, the stray app deleted, one app per task in the end', async (_name, faults, kind) => {
    const w = (current = await world({ faults }));
    const { provisioner: daemon, log } = provisioner(w, fast);
    daemon.start();
    const tasks = await createTasks(w.db, 3);
    await eventually(() => w.sandbox.stats().faults[kind] >= 3);
    w.sandbox.faults.reset();
    await eventually(async () => (await audit(w)).problems.length === 0);
    await daemon.stop();

    expect(tasks).toHaveLength(3);
    const result = await audit(w);
    expect(result).toMatchObject({ tasks: 3, live: 3, problems: [] });
    expect(log.messages('warn')).toContain('create failed; will retry');
    expect(log.messages('error')).toEqual([]);
  });
});

describe('records and tasks changed by hand', () => {
  it('a record edited to "ready" without an app, or with a lease from the far future, is provisioned again', async () => {
    const w = (current = await world());
    const [first, second] = await createTasks(w.db, 2);
    const far = Date.now() + 50 * 365 * 86_400_000;
    const records = [id(), id()];
    await w.db.transact([
      w.db.tx.databases[records[0]!]!.update({
        taskId: first!,
        name: 'hand-made-one',
        status: 'ready',
        createdAt: Date.now(),
        generation: 3,
      }),
      w.db.tx.tasks[first!]!.link({ mainDatabase: records[0]! }),
      w.db.tx.databases[records[1]!]!.update({
        taskId: second!,
        name: 'hand-made-two',
        status: 'provisioning',
        createdAt: Date.now(),
        leaseOwner: 'ghost',
        leaseExpiresAt: far,
      }),
      w.db.tx.tasks[second!]!.link({ mainDatabase: records[1]! }),
    ]);
    // Neither task is unlinked: the daemon's read of broken records finds the first, its records watch the second.
    const { provisioner: daemon, log } = provisioner(w, fast);
    daemon.start();
    await eventually(async () => (await audit(w)).problems.length === 0);
    await daemon.stop();
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
    const w = (current = await world({ faults: { createLatency: 400 } }));
    const { provisioner: daemon } = provisioner(w, fast);
    daemon.start();
    const [taskId] = await createTasks(w.db, 1);
    await eventually(async () => (await w.db.query({ databases: {} })).databases.length === 1);
    await w.db.transact(w.db.tx.tasks[taskId!]!.delete());
    await eventually(async () => (await w.db.query({ databases: {} })).databases.length === 0);
    await eventually(() => w.sandbox.apps().filter((app) => app.deletedAt === null).length === 1); // the main app
    await daemon.stop();
  });
});
