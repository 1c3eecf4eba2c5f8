/**
 * The sandbox's client protocol through the real, unmodified `@instantdb/core` 1.0.67 (what
 * `@instantdb/react` runs in a browser), with the project's schema and rules: guests and
 * signed-in users, live results after the client's own write, another client's write and the
 * daemon's `/admin/transact`, rules on rows and fields, denied writes, new attributes.
 */
import { init as adminInit, type InstantAdminDatabase } from '@instantdb/admin';
import { id, type InstantCoreDatabase } from '@instantdb/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import perms from '../../instant.perms.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { rejection, schema } from './helpers.js';
import { connected, leaked, openBrowser, receivedFrames, resultOf, sentFrames } from './simulated-browser.js';

type Browser = InstantCoreDatabase<typeof schema, false>;

let sandbox: Sandbox;
let appId: string;
let admin: InstantAdminDatabase<typeof schema>;
const browsers: Browser[] = [];

function browser(): Browser {
  const db = openBrowser(sandbox, appId, schema);
  browsers.push(db);
  return db;
}

/** A browser signed in as `email`, with a token the daemon's server side made (`auth.createToken`). */
async function signedIn(email: string): Promise<{ db: Browser; userId: string }> {
  const db = browser();
  const token = await admin.auth.createToken(email);
  const { user } = await db.auth.signInWithToken(token);
  return { db, userId: user.id };
}

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 11 });
  const app = sandbox.createApp({ title: 'main', schema, perms });
  appId = app.id;
  admin = adminInit({ appId, adminToken: app.adminToken, apiURI: sandbox.url, schema });
  receivedFrames.length = 0;
});

afterEach(async () => {
  for (const db of browsers.splice(0)) db.shutdown();
  await sandbox.close();
});

describe('the client protocol through @instantdb/core', () => {
  it("a signed-in user's query follows its own write, another client's write and the daemon's write", async () => {
    const a = await signedIn('a@example.com');
    const task = id();
    const tasks = { tasks: { $: { where: { id: task } }, mainDatabase: {} } };
    const seen = resultOf(a.db, tasks, (d) => d.tasks[0]?.title === 'third' && d.tasks[0]);

    await a.db.transact(
      a.db.tx.tasks[task]!.update({ title: 'first', createdAt: Date.now() }).link({ owner: a.userId }),
    );
    expect(await resultOf(a.db, tasks, (d) => d.tasks[0]?.title)).toBe('first');

    // The same user in another browser.
    const other = browser();
    await other.auth.signInWithToken(await admin.auth.createToken('a@example.com'));
    await other.transact(other.tx.tasks[task]!.update({ title: 'second' }));
    expect(await resultOf(a.db, tasks, (d) => d.tasks[0]?.title === 'second')).toBe(true);

    // The daemon's path: the admin SDK's /admin/transact, no client session involved.
    const database = id();
    await admin.transact([
      admin.tx.databases[database]!.update({
        name: 'swift-blue-otter',
        taskId: task,
        status: 'provisioning',
        createdAt: Date.now(),
        adminToken: 'secret-token-never-sent',
      }),
      admin.tx.tasks[task]!.link({ mainDatabase: database }),
    ]);
    expect(await resultOf(a.db, tasks, (d) => d.tasks[0]?.mainDatabase?.status)).toBe('provisioning');
    await admin.transact(admin.tx.databases[database]!.update({ status: 'ready', instantAppId: 'app-1' }));
    const ready = await resultOf(a.db, tasks, (d) => d.tasks[0]?.mainDatabase?.status === 'ready' && d.tasks[0]);
    expect(ready.mainDatabase).toMatchObject({ name: 'swift-blue-otter', instantAppId: 'app-1' });
    expect(ready.mainDatabase).not.toHaveProperty('adminToken');

    await a.db.transact(a.db.tx.tasks[task]!.update({ title: 'third' }));
    expect((await seen).title).toBe('third');
    expect(receivedFrames.some((f) => f.includes('swift-blue-otter'))).toBe(true);
    expect(leaked('secret-token-never-sent')).toBe(false);
  });

  it('rules filter rows and fields: a user sees only their tasks and never an admin token', async () => {
    const a = await signedIn('a@example.com');
    const b = await signedIn('b@example.com');
    const [taskA, taskB, databaseA] = [id(), id(), id()];
    await admin.transact([
      admin.tx.tasks[taskA]!.update({ title: 'a', createdAt: 1 }).link({ owner: a.userId }),
      admin.tx.tasks[taskB]!.update({ title: 'b', createdAt: 2 }).link({ owner: b.userId }),
      admin.tx.databases[databaseA]!.update({
        name: 'db-a',
        taskId: taskA,
        status: 'ready',
        createdAt: 3,
        adminToken: 'admin-token-of-a',
      }),
      admin.tx.tasks[taskA]!.link({ mainDatabase: databaseA }),
    ]);
    expect((await admin.query({ tasks: {} })).tasks).toHaveLength(2);

    const ofA = await resultOf(a.db, { tasks: { mainDatabase: {} }, databases: {} }, (d) => d);
    expect(ofA.tasks.map((t: { id: string }) => t.id)).toEqual([taskA]);
    expect(ofA.tasks[0].mainDatabase).toMatchObject({ id: databaseA, name: 'db-a', status: 'ready' });
    expect(ofA.databases).toHaveLength(1);
    expect(ofA.databases[0]).not.toHaveProperty('adminToken');
    const ofB = await resultOf(b.db, { tasks: { mainDatabase: {} }, databases: {} }, (d) => d);
    expect(ofB.tasks.map((t: { id: string }) => t.id)).toEqual([taskB]);
    expect(ofB.databases).toEqual([]);
    const viaWhere = await resultOf(
      a.db,
      { databases: { $: { where: { adminToken: 'admin-token-of-a' } } } },
      (d) => d,
    );
    expect(viaWhere.databases).toEqual([]);
    expect(leaked('admin-token-of-a')).toBe(false);
    expect(leaked('db-a')).toBe(true); // what the check looks for does travel when allowed
  });

  it('a denied write rejects the transact promise with permission-denied and changes nothing', async () => {
    const a = await signedIn('a@example.com');
    const error = await rejection(
      a.db.transact(a.db.tx.databases[id()]!.update({ name: 'x', taskId: id(), status: 'ready', createdAt: 1 })),
    );
    expect(error.message).toBe('Permission denied: not perms-pass?');
    expect(error.hint).toMatchObject({ input: ['databases', 'object'], expected: 'perms-pass?' });
    expect((await admin.query({ databases: {} })).databases).toEqual([]);
  });

  it('a guest sees no tasks and may not create one; signInAsGuest makes a $users row of type guest', async () => {
    await admin.transact(admin.tx.tasks[id()]!.update({ title: 'hidden', createdAt: 1 }));
    const guest = browser();
    expect((await resultOf(guest, { tasks: {} }, (d) => d)).tasks).toEqual([]);
    const error = await rejection(guest.transact(guest.tx.tasks[id()]!.update({ createdAt: 2 })));
    expect(error.hint).toMatchObject({ input: ['tasks', 'object'] });

    const { user } = await guest.auth.signInAsGuest();
    expect(user).toMatchObject({ type: 'guest', refresh_token: expect.any(String) });
    const { $users } = await admin.query({ $users: { $: { where: { id: user.id } } } });
    expect($users).toEqual([expect.objectContaining({ id: user.id, type: 'guest' })]);
    // A guest user owns tasks like any signed-in user.
    const task = id();
    await guest.transact(guest.tx.tasks[task]!.update({ title: 'mine', createdAt: 3 }).link({ owner: user.id }));
    expect((await resultOf(guest, { tasks: {} }, (d) => d)).tasks.map((t: { id: string }) => t.id)).toEqual([task]);
  });

  it('signOut revokes the token: the browser is a guest again and the token no longer signs in', async () => {
    const db = browser();
    const token = await admin.auth.createToken('a@example.com');
    const { user } = await db.auth.signInWithToken(token);
    await admin.transact(admin.tx.tasks[id()]!.update({ createdAt: 1 }).link({ owner: user.id }));
    expect((await resultOf(db, { tasks: {} }, (d) => d.tasks.length > 0 && d.tasks)).length).toBe(1);
    await db.auth.signOut();
    expect(await db.getAuth()).toBeNull();
    expect((await resultOf(db, { tasks: {} }, (d) => d)).tasks).toEqual([]);
    const refused = await rejection(browser().auth.signInWithToken(token));
    expect(refused.body).toMatchObject({ type: 'record-not-found', hint: { 'record-type': 'app-user' } });
  });

  it('over the SSE transport (where @instantdb/react falls back), a user reads and writes live too', async () => {
    const db = openBrowser(sandbox, appId, schema, { sse: true });
    browsers.push(db);
    const { user } = await db.auth.signInWithToken(await admin.auth.createToken('a@example.com'));
    await connected(db);
    // The stream of the guest session before signing in closes when its socket does.
    await expect.poll(() => sandbox.stats().clientSessions).toBe(1);
    const task = id();
    const titled = resultOf(db, { tasks: {} }, (d) => d.tasks[0]?.title === 'from the daemon' && d.tasks[0]);
    await db.transact(db.tx.tasks[task]!.update({ title: 'over sse', createdAt: 1 }).link({ owner: user.id }));
    await admin.transact(admin.tx.tasks[task]!.update({ title: 'from the daemon' }));
    expect((await titled).id).toBe(task);
    expect(receivedFrames).toEqual([]); // nothing came over a WebSocket
  });

  it('the runtime auth routes answer CORS, preflight included', async () => {
    const preflight = await fetch(`${sandbox.url}/runtime/auth/sign_in_guest`, {
      method: 'OPTIONS',
      headers: { origin: 'http://127.0.0.1:5173', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type');
    const refused = await fetch(`${sandbox.url}/runtime/auth/verify_refresh_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 'app-id': appId, 'refresh-token': id() }),
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('add-attr: a new attribute keeps the client’s id, reaches other browsers live, and attrs.allow.create can refuse it', async () => {
    sandbox.close();
    sandbox = await startSandbox({ seed: 12 });
    const open = sandbox.createApp({ title: 'open' });
    const writer = openBrowser(sandbox, open.id);
    const reader = openBrowser(sandbox, open.id);
    browsers.push(writer as never, reader as never);
    await Promise.all([connected(writer), connected(reader)]);
    const note = id();
    const arrived = resultOf(reader, { notes: {} }, (d) => d.notes[0]?.colour);
    await writer.transact(writer.tx['notes']![note]!.update({ colour: 'red' }));
    expect(await arrived).toBe('red');
    const declared = sentFrames
      .map((f) => JSON.parse(f))
      .filter((m) => m.op === 'transact')
      .flatMap((m) => m['tx-steps'])
      .find((step) => step[0] === 'add-attr' && step[1]['forward-identity'][2] === 'colour')[1];
    expect((await schemaOf(open.id)).blobs.notes.colour.id).toBe(declared.id);

    const locked = sandbox.createApp({ title: 'locked', perms: { attrs: { allow: { create: 'false' } } } });
    const refused = openBrowser(sandbox, locked.id);
    browsers.push(refused as never);
    await connected(refused);
    const error = await rejection(refused.transact(refused.tx['notes']![id()]!.update({ colour: 'blue' })));
    expect(error.hint).toMatchObject({ input: ['attrs', 'attr'] });
  });
});

/** The app's attributes as the Platform API reads them. */
async function schemaOf(id: string): Promise<any> {
  const res = await fetch(`${sandbox.url}/superadmin/apps/${id}/schema`, {
    headers: { authorization: `Bearer ${sandbox.platformToken}` },
  });
  return ((await res.json()) as { schema: unknown }).schema;
}
