/**
 * A fork end to end: the browser's transaction (a task linked to an iteration of its own task),
 * the daemon's real adapters and the copy engine, against the sandbox; the fork's app is read
 * with the real admin SDK and its own admin token.
 */
import { id, init } from '@instantdb/admin';
import { afterEach, describe, expect, it } from 'vitest';
import { audit, eventually, provisioner, world, type World } from './helpers.js';

let current: World | undefined;
afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function readyDatabase(w: World, taskId: string) {
  await eventually(async () => {
    const { databases } = await w.db.query({ databases: { $: { where: { taskId } } } });
    return databases[0]?.status === 'ready';
  });
  const { databases } = await w.db.query({ databases: { $: { where: { taskId } } } });
  return databases[0]!;
}

describe.each(['chosen-id', 'server-id'] as const)('forking an iteration, %s', (createVia) => {
  it("the fork's database is a copy of its source's: schema, rules and data; the source is untouched", async () => {
    const w = (current = await world({ cloud: createVia === 'server-id' }));
    const daemon = provisioner(w, { createVia: 'auto' });
    daemon.provisioner.start();
    const owner =
      (await w.db.auth.createToken('owner@example.com')) && (await w.db.query({ $users: {} })).$users[0]!.id;
    const user = w.db.asUser({ email: 'owner@example.com' });

    const sourceTask = id();
    await user.transact(user.tx.tasks[sourceTask]!.update({ title: 'source', createdAt: Date.now() }).link({ owner }));
    const source = await readyDatabase(w, sourceTask);
    const sourceApp = init({ appId: source.instantAppId!, adminToken: source.adminToken!, apiURI: w.sandbox.url });
    const notes = Array.from({ length: 120 }, () => id());
    const tag = id();
    await sourceApp.transact([
      sourceApp.tx['tags']![tag]!.update({ label: 'kept' }),
      ...notes.map((note, i) => sourceApp.tx['notes']![note]!.update({ text: `note ${i}` }).link({ tags: tag })),
    ]);

    // The browser forks: an iteration of its task, and a new task linked to it, as the rules allow.
    const iteration = id();
    const fork = id();
    await user.transact([
      user.tx.iterations[iteration]!.update({ createdAt: Date.now() }).link({ task: sourceTask }),
      user.tx.tasks[fork]!.update({ title: 'fork', createdAt: Date.now() }).link({ owner, forkedFrom: iteration }),
    ]);
    const copy = await readyDatabase(w, fork);
    expect(copy.instantAppId).not.toBe(source.instantAppId);

    const forkApp = init({ appId: copy.instantAppId!, adminToken: copy.adminToken!, apiURI: w.sandbox.url });
    const read = async (app: typeof sourceApp) =>
      (
        (await app.query({ notes: { tags: {} } })).notes as Array<{
          id: string;
          text: string;
          tags: Array<{ id: string }>;
        }>
      )
        .map((note) => `${note.id} ${note.text} ${note.tags.map((t) => t.id).join(',')}`)
        .sort();
    expect(await read(forkApp)).toEqual(await read(sourceApp));
    expect(await read(forkApp)).toHaveLength(120);
    const { databases } = await w.db.query({ databases: { $: { where: { taskId: fork } }, originIteration: {} } });
    expect(databases[0]).toMatchObject({ originIteration: { id: iteration }, copiedEntities: 121 });
    expect(await audit(w)).toMatchObject({ tasks: 2, live: 2, problems: [] });
    await daemon.provisioner.stop();
  });
});
