/**
 * What a task's owner sees and does, through the real SDK as that user (the shipped rules apply)
 * and the daemon's real adapters against the sandbox: a database refused over the per-owner cap
 * and made once they delete a task; a failed database tried again when they ask.
 */
import { id } from '@instantdb/admin';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, provisioner, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function signedIn(w: World, email: string) {
  await w.db.auth.createToken(email);
  const ownerId = (await w.db.query({ $users: { $: { where: { email } } } })).$users[0]!.id;
  return { ownerId, db: w.db.asUser({ email }) };
}

const statusOf = async (db: ReturnType<World['db']['asUser']>, taskId: string) => {
  const { tasks } = await db.query({ tasks: { $: { where: { id: taskId } }, mainDatabase: {} } });
  return (tasks[0]?.mainDatabase ?? null) as { status: string; error?: string | null } | null;
};

describe('an owner and their databases', () => {
  it('over the cap: refused, with the reason the owner can read; made once they delete a task', async () => {
    const w = (current = await world());
    const daemon = provisioner(w, { maxDatabasesPerOwner: '1' });
    daemon.provisioner.start();
    const { ownerId, db } = await signedIn(w, 'owner@example.com');
    const [first, second] = [id(), id()];
    await db.transact(db.tx.tasks[first]!.update({ title: 'one', createdAt: Date.now() }).link({ owner: ownerId }));
    await eventually(async () => (await statusOf(db, first))?.status === 'ready');
    await db.transact(db.tx.tasks[second]!.update({ title: 'two', createdAt: Date.now() }).link({ owner: ownerId }));
    await eventually(async () => (await statusOf(db, second))?.status === 'refused');
    expect((await statusOf(db, second))!.error).toMatch(/--max-databases-per-owner 1/);

    await db.transact(db.tx.tasks[first]!.delete());
    await eventually(async () => (await statusOf(db, second))?.status === 'ready');
    await daemon.provisioner.stop();
  });

  it('a failed database is tried again when its owner asks (databaseRetryRequestedAt), and the request is taken', async () => {
    const w = (current = await world({ faults: { p500: 1 } }));
    const daemon = provisioner(w, { maxAttempts: '1' });
    daemon.provisioner.start();
    const { ownerId, db } = await signedIn(w, 'owner@example.com');
    const taskId = id();
    await db.transact(db.tx.tasks[taskId]!.update({ title: 't', createdAt: Date.now() }).link({ owner: ownerId }));
    await eventually(async () => (await statusOf(db, taskId))?.status === 'failed');

    w.sandbox.faults.reset();
    await db.transact(db.tx.tasks[taskId]!.update({ databaseRetryRequestedAt: Date.now() }));
    await eventually(async () => (await statusOf(db, taskId))?.status === 'ready');
    const { tasks } = await w.db.query({ tasks: { $: { where: { id: taskId } } } });
    expect(tasks[0]!.databaseRetryRequestedAt ?? null).toBeNull();
    expect(daemon.log.messages('info')).toContain('retrying at the task owner’s request');
    await daemon.provisioner.stop();
  });
});
