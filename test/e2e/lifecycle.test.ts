/** A task database's life after the claim, through the built CLI, the real SDK and the sandbox. */
import { afterEach, describe, expect, it } from 'vitest';
import { createTasks, eventually, spawnDaemon, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

const GRACE_MS = 1_500;
const fast = ['--settle-margin', '200', '--request-timeout', '2000', '--lease', '5000'];

describe('tasks deleted and re-created by a browser', () => {
  it('deleted tasks lose their apps after the grace; one re-created with its id inside the grace keeps its app', async () => {
    const w = (current = await world());
    const daemon = spawnDaemon(['reconcile', '--delete-grace', String(GRACE_MS), ...fast], w.env);
    await daemon.waitFor('reconciling');
    const [kept, gone, back] = await createTasks(w.db, 3);
    const ready = async () => {
      const { databases } = await w.db.query({ databases: {} });
      return databases.filter((record) => record.status === 'ready');
    };
    await eventually(async () => (await ready()).length === 3);
    const before = new Map((await ready()).map((record) => [record.taskId, record]));

    // What a browser does: delete two tasks, then re-create one of them with the same id.
    await w.db.transact([w.db.tx.tasks[gone!]!.delete(), w.db.tx.tasks[back!]!.delete()]);
    await eventually(async () => {
      const { databases } = await w.db.query({ databases: {} });
      return databases.filter((record) => record.status === 'detached').length === 2;
    });
    await w.db.transact(w.db.tx.tasks[back!]!.update({ title: 'back again', createdAt: Date.now() }));
    await eventually(async () => {
      const { tasks } = await w.db.query({ tasks: { $: { where: { id: back! } }, mainDatabase: {} } });
      return tasks[0]?.mainDatabase?.status === 'ready';
    });

    const goneApp = before.get(gone!)!.instantAppId!;
    await eventually(() => w.sandbox.apps().find((app) => app.id === goneApp)!.deletedAt !== null, 15_000);
    await eventually(async () => (await w.db.query({ databases: {} })).databases.length === 2);
    const { tasks } = await w.db.query({ tasks: { mainDatabase: {} } });
    const byTask = new Map(tasks.map((task) => [task.id, task.mainDatabase]));
    expect(byTask.get(back!)).toMatchObject({ status: 'ready', instantAppId: before.get(back!)!.instantAppId });
    expect(byTask.get(kept!)).toMatchObject({ status: 'ready', instantAppId: before.get(kept!)!.instantAppId });
    const live = w.sandbox.apps().filter((app) => app.id !== w.appId && app.deletedAt === null);
    expect(live.map((app) => app.id).sort()).toEqual(
      [before.get(back!)!.instantAppId, before.get(kept!)!.instantAppId].sort(),
    );
    const retired = daemon.entries.find((entry) => entry.msg === 'retired the database of a deleted task')!;
    expect(retired).toMatchObject({ appId: goneApp });
    // The retired record's fences went with it; the others' stay.
    const { databaseFences } = await w.db.query({ databaseFences: {} });
    const goneRecord = before.get(gone!)!.id;
    expect(databaseFences.filter((f) => f.key.startsWith(`${goneRecord}/`))).toEqual([]);
    expect(databaseFences.filter((f) => f.key.startsWith(`${before.get(kept!)!.id}/`)).length).toBeGreaterThan(0);
    expect(await daemon.stop()).toBe(0);
  });
});
