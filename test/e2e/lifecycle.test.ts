/**
 * A task database's life after the claim: the real SDK, the sandbox and the daemon's real
 * adapters, on a fake clock. The delete grace passes only when the test moves time (see
 * eventuallyOn), so re-creating a task "inside the grace" never races the machine's load.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../fakes/fake-clock.js';
import { id } from '@instantdb/admin';
import { eventually, eventuallyOn, provisioner, settledOn, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

const GRACE_MS = 60_000;

describe('tasks deleted and re-created by a browser', () => {
  it('deleted tasks lose their apps after the grace; one re-created with its id inside the grace keeps its app', async () => {
    const clock = new FakeClock();
    const w = (current = await world({ clock }));
    const daemon = provisioner(w, { deleteGrace: String(GRACE_MS) });
    daemon.provisioner.start();
    // The tasks belong to a signed-in user, as a browser makes them.
    const email = 'owner@example.com';
    await w.db.auth.createToken(email);
    const owner = (await w.db.query({ $users: { $: { where: { email } } } })).$users[0]!.id;
    // Owned from the start, as a browser creates them: the owner link is in the creating transaction.
    const [kept, gone, back] = [id(), id(), id()];
    await w.db.transact(
      [kept, gone, back].map((taskId, i) =>
        w.db.tx.tasks[taskId]!.update({ title: `task ${i}`, createdAt: clock.now() }).link({ owner }),
      ),
    );
    const ready = async () => {
      const { databases } = await w.db.query({ databases: {} });
      return databases.filter((record) => record.status === 'ready');
    };
    await eventuallyOn(clock, daemon, async () => (await ready()).length === 3);
    const before = new Map((await ready()).map((record) => [record.taskId, record]));

    // What a browser does: delete two tasks, then re-create one of them with the same id. The
    // clock stands still meanwhile: the grace cannot run out, however slow the machine.
    const frozenAt = clock.now();
    await w.db.transact([w.db.tx.tasks[gone]!.delete(), w.db.tx.tasks[back]!.delete()]);
    await eventually(async () => {
      const { databases } = await w.db.query({ databases: {} });
      return databases.filter((record) => record.status === 'detached').length === 2;
    });
    await w.db.transact(w.db.tx.tasks[back]!.update({ title: 'back again', createdAt: clock.now() }).link({ owner }));
    await eventually(async () => {
      const { tasks } = await w.db.query({ tasks: { $: { where: { id: back } }, mainDatabase: {} } });
      return tasks[0]?.mainDatabase?.status === 'ready';
    });
    expect(clock.now()).toBe(frozenAt);

    // Now the grace passes, on the fake clock: the deleted task's app goes, then its record.
    const goneApp = before.get(gone)!.instantAppId!;
    await eventuallyOn(clock, daemon, async () => {
      const deleted = w.sandbox.apps().find((app) => app.id === goneApp)!.deletedAt !== null;
      return deleted && (await w.db.query({ databases: {} })).databases.length === 2;
    });
    expect(clock.now()).toBeGreaterThanOrEqual(frozenAt + GRACE_MS);
    const { tasks } = await w.db.query({ tasks: { mainDatabase: {} } });
    const byTask = new Map(tasks.map((task) => [task.id, task.mainDatabase]));
    expect(byTask.get(back)).toMatchObject({ status: 'ready', instantAppId: before.get(back)!.instantAppId });
    expect(byTask.get(kept)).toMatchObject({ status: 'ready', instantAppId: before.get(kept)!.instantAppId });
    const live = w.sandbox.apps().filter((app) => app.id !== w.appId && app.deletedAt === null);
    expect(live.map((app) => app.id).sort()).toEqual(
      [before.get(back)!.instantAppId, before.get(kept)!.instantAppId].sort(),
    );
    const retired = daemon.log.entries.find((entry) => entry.message === 'retired the database of a deleted task')!;
    expect(retired.fields).toMatchObject({ appId: goneApp });
    // The retired record's fences went with it; the others' stay.
    const { databaseFences } = await w.db.query({ databaseFences: {} });
    const goneRecord = before.get(gone)!.id;
    expect(databaseFences.filter((f) => f.key.startsWith(`${goneRecord}/`))).toEqual([]);
    expect(databaseFences.filter((f) => f.key.startsWith(`${before.get(kept)!.id}/`)).length).toBeGreaterThan(0);
    expect(await settledOn(clock, daemon, daemon.provisioner.stop())).toEqual({ drained: true });
  });
});
