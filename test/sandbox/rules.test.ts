/** Rule evaluation in the sandbox, through the real SDK's asUser: lookup order, binds, errors, streams. */
import { id, init } from '@instantdb/admin';
import { PlatformApi } from '@instantdb/platform';
import { afterEach, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { rejection, schema } from './helpers.js';

let sandbox: Sandbox | undefined;
afterEach(() => sandbox?.close());

async function appWith(perms: unknown) {
  sandbox = await startSandbox({ seed: 3 });
  const app = sandbox.createApp({ title: 'main', schema, perms });
  const admin = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
  await admin.transact(admin.tx.tasks[id()]!.update({ title: 'public', createdAt: 1 }));
  return admin;
}

describe('rule evaluation', () => {
  it('a missing rule allows; the namespace $default comes before the global $default', async () => {
    const open = await appWith({ $default: { allow: { $default: 'false' } }, tasks: { allow: { $default: 'true' } } });
    const guest = open.asUser({ guest: true });
    expect((await guest.query({ tasks: {} })).tasks).toHaveLength(1);
    expect((await guest.query({ databases: {} })).databases).toHaveLength(0);
    await sandbox!.close();
    const none = await appWith(null);
    expect((await none.asUser({ guest: true }).query({ tasks: {} })).tasks).toHaveLength(1);
  });

  it('a denied write answers 400 permission-denied with the server body', async () => {
    const admin = await appWith({ tasks: { allow: { create: 'false' } } });
    const error = await rejection(
      admin.asUser({ guest: true }).transact(admin.tx.tasks[id()]!.update({ createdAt: 2 })),
    );
    expect(error.status).toBe(400);
    expect(error.body).toMatchObject({
      type: 'permission-denied',
      message: 'Permission denied: not perms-pass?',
      hint: { input: ['tasks', 'object'], expected: 'perms-pass?' },
    });
  });

  it('binds, auth, ruleParams and a plain admin request that bypasses everything', async () => {
    const admin = await appWith({
      tasks: {
        bind: ['titled', 'data.title == ruleParams.title'],
        allow: { view: "titled && auth.email == 'a@x.io'" },
      },
    });
    const a = admin.asUser({ token: await admin.auth.createToken('a@x.io') });
    expect((await a.query({ tasks: {} }, { ruleParams: { title: 'public' } })).tasks).toHaveLength(1);
    expect((await a.query({ tasks: {} }, { ruleParams: { title: 'other' } })).tasks).toHaveLength(0);
    expect((await admin.asUser({ guest: true }).query({ tasks: {} })).tasks).toHaveLength(0);
    expect((await admin.query({ tasks: {} })).tasks).toHaveLength(1);
  });

  it('as-email needs a signed-up user; as-token a known token', async () => {
    const admin = await appWith(null);
    const byEmail = await rejection(admin.asUser({ email: 'nobody@x.io' }).query({ tasks: {} }));
    expect(byEmail.body).toMatchObject({ type: 'record-not-found', message: 'Record not found: app-user' });
    const byToken = await rejection(admin.asUser({ token: id() }).query({ tasks: {} }));
    expect(byToken.body).toMatchObject({ type: 'record-not-found' });
    await admin.auth.createToken('some@x.io');
    expect((await admin.asUser({ email: 'some@x.io' }).query({ tasks: {} })).tasks).toHaveLength(1);
  });

  it('attributes made on the fly by a browser are checked by attrs.allow.create', async () => {
    const admin = await appWith({ attrs: { allow: { create: 'false' } } });
    const app = sandbox!.apps()[0]!;
    // Without a schema the SDK lets the server create missing attributes.
    const schemaless = init({ appId: app.id, apiURI: sandbox!.url }).asUser({ guest: true });
    const error = await rejection(
      schemaless.transact(schemaless.tx['tasks']![id()]!.update({ colour: 'red', createdAt: 5 })),
    );
    expect(error.body).toMatchObject({ type: 'permission-denied', hint: { input: ['attrs', 'attr'] } });
    expect((await admin.query({ tasks: {} })).tasks).toHaveLength(1);
  });

  it('newData in update and link rules is the entity after the write, as the server computes it', async () => {
    const admin = await appWith({
      tasks: {
        allow: {
          update: "newData.title == 'renamed' && data.title == 'mine' && request.modifiedFields == ['title']",
          link: { owner: 'newData.owner == auth.id && data.owner == null' },
        },
      },
    });
    const task = id();
    await admin.transact(admin.tx.tasks[task]!.update({ title: 'mine', createdAt: 9 }));
    const user = admin.asUser({ token: await admin.auth.createToken('n@x.io') });
    const userId = (await admin.query({ $users: { $: { where: { email: 'n@x.io' } } } })).$users[0]!.id;
    const denied = await rejection(user.transact(user.tx.tasks[task]!.update({ title: 'other' })));
    expect(denied.body.type).toBe('permission-denied');
    // Both pass only when newData holds the values being written (data is still the stored state).
    await user.transact(user.tx.tasks[task]!.update({ title: 'renamed' }));
    await user.transact(user.tx.tasks[task]!.link({ owner: userId }));
    const [stored] = (await admin.query({ tasks: { $: { where: { id: task } }, owner: {} } })).tasks;
    expect(stored).toMatchObject({ title: 'renamed', owner: { id: userId } });
  });

  it('a rule that cannot run is permission-evaluation-failed', async () => {
    const admin = await appWith({ tasks: { allow: { view: 'data.title > 3' } } });
    const error = await rejection(admin.asUser({ guest: true }).query({ tasks: {} }));
    expect(error.body).toMatchObject({ type: 'permission-evaluation-failed', hint: { rule: ['tasks', 'view'] } });
  });

  it('a subscription as a user sees only what the rules show, and refreshes when that changes', async () => {
    const admin = await appWith({ tasks: { allow: { view: "data.title == 'shown'" } } });
    const results: number[] = [];
    const sub = admin.asUser({ guest: true }).subscribeQuery({ tasks: {} }, (payload) => {
      if (payload.type === 'ok') results.push(payload.data.tasks.length);
    });
    await expect.poll(() => results).toEqual([0]);
    await admin.transact(admin.tx.tasks[id()]!.update({ title: 'shown', createdAt: 3 }));
    await expect.poll(() => results).toEqual([0, 1]);
    sub.close();
  });

  it('a task app created through the Platform API with locked rules gives a guest nothing', async () => {
    sandbox = await startSandbox({ seed: 4 });
    const api = new PlatformApi({ auth: { token: sandbox.platformToken }, apiURI: sandbox.url });
    const { app } = await api.createApp({ title: 't', schema, perms: { $default: { allow: { $default: 'false' } } } });
    const db = init({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
    await db.transact(db.tx.tasks[id()]!.update({ createdAt: 1 }));
    const guest = db.asUser({ guest: true });
    expect((await guest.query({ tasks: {} })).tasks).toHaveLength(0);
    const error = await rejection(guest.transact(guest.tx.tasks[id()]!.update({ createdAt: 2 })));
    expect(error.body.type).toBe('permission-denied');
  });
});
