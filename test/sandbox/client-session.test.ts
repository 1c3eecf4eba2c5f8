/**
 * The client protocol on the wire (`/runtime/session` with a plain `ws` client): the message
 * shapes @instantdb/core relies on, errors that never drop the socket, remove-query, batching by
 * client version, add-attr deduplication, and the admin session.
 */
import { once } from 'node:events';
import { id } from '@instantdb/admin';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import perms from '../../instant.perms.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { schema } from './helpers.js';

type Message = Record<string, any>;

let sandbox: Sandbox;
let app: { id: string; adminToken: string };
const sockets: WebSocket[] = [];

beforeEach(async () => {
  sandbox = await startSandbox({ seed: 21 });
  app = sandbox.createApp({ title: 'main', schema, perms });
});

afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await sandbox.close();
});

/** A raw session: send messages, await the next matching one, see the frames as they came. */
async function connect() {
  const ws = new WebSocket(sandbox.websocketURI);
  sockets.push(ws);
  const frames: unknown[] = [];
  const inbox: Message[] = [];
  const waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  const take = () => {
    for (const waiter of [...waiters]) {
      const at = inbox.findIndex(waiter.match);
      if (at < 0) continue;
      const [message] = inbox.splice(at, 1);
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message!);
    }
  };
  ws.on('message', (data) => {
    const parsed = JSON.parse(String(data)) as Message | Message[];
    frames.push(parsed);
    inbox.push(...(Array.isArray(parsed) ? parsed : [parsed]));
    take();
  });
  await once(ws, 'open');
  return {
    frames,
    send(message: Message | Message[]) {
      ws.send(JSON.stringify(message));
    },
    next(match: (m: Message) => boolean): Promise<Message> {
      return new Promise((resolve) => {
        waiters.push({ match, resolve });
        take();
      });
    },
    /** Resolves after every message sent so far was answered (an unknown op's error comes back in order). */
    async settle(): Promise<void> {
      const marker = id();
      ws.send(JSON.stringify({ op: 'no-such-op', 'client-event-id': marker }));
      await this.next((m) => m['client-event-id'] === marker);
    },
  };
}

type Session = Awaited<ReturnType<typeof connect>>;

async function initialized(extra: Message = {}, versions: Message = { '@instantdb/core': 'v1.0.67' }) {
  const s = await connect();
  s.send({ op: 'init', 'client-event-id': id(), 'app-id': app.id, versions, ...extra });
  const ok = await s.next((m) => m.op === 'init-ok' || m.op === 'error');
  return { s, ok };
}

const ops = (s: Session, op: string) => s.next((m) => m.op === op);

describe('the client protocol on the wire', () => {
  it('init-ok carries the session id, the auth and the attrs in the server format', async () => {
    const { ok } = await initialized();
    expect(ok).toMatchObject({
      op: 'init-ok',
      auth: { user: null, 'admin?': false },
      'app-status': { status: 'active' },
    });
    expect(ok['session-id']).toMatch(/^[0-9a-f-]{36}$/);
    const title = ok.attrs.find(
      (a: Message) => a['forward-identity'][1] === 'tasks' && a['forward-identity'][2] === 'title',
    );
    expect(title).toMatchObject({ 'value-type': 'blob', cardinality: 'one', 'checked-data-type': 'string' });
    const owner = ok.attrs.find(
      (a: Message) => a['forward-identity'][1] === 'tasks' && a['forward-identity'][2] === 'owner',
    );
    expect(owner).toMatchObject({ 'value-type': 'ref', 'reverse-identity': [expect.any(String), '$users', 'tasks'] });
    expect(JSON.stringify(ok)).not.toContain(app.adminToken);
  });

  it('bad messages get the error op and the socket keeps serving', async () => {
    const s = await connect();
    s.send({ op: 'add-query', 'client-event-id': 'e1', q: { tasks: {} } });
    expect(await ops(s, 'error')).toMatchObject({
      status: 400,
      type: 'validation-failed',
      'client-event-id': 'e1',
      'original-event': { op: 'add-query', q: { tasks: {} } },
    });
    s.send({ op: 'init', 'client-event-id': 'e2', 'app-id': id() });
    expect(await ops(s, 'error')).toMatchObject({ type: 'record-not-found', hint: { 'record-type': 'app' } });
    s.send({ op: 'init', 'client-event-id': 'e3', 'app-id': app.id, 'refresh-token': id() });
    // The client signs out on exactly this and reconnects as a guest.
    expect(await ops(s, 'error')).toMatchObject({
      type: 'record-not-found',
      hint: { 'record-type': 'app-user' },
      'original-event': { op: 'init' },
    });
    s.send({ op: 'join-room', 'client-event-id': 'e4' });
    expect(await ops(s, 'error')).toMatchObject({
      type: 'param-malformed',
      message: 'Invalid op',
      hint: { op: 'join-room' },
    });
    s.send('{not json' as never);
    expect(await ops(s, 'error')).toMatchObject({ status: 400, type: 'param-malformed' });
    s.send({ op: 'init', 'client-event-id': 'e5', 'app-id': app.id });
    expect(await ops(s, 'init-ok')).toMatchObject({ 'client-event-id': 'e5' });
    s.send({ op: 'init', 'client-event-id': 'e6', 'app-id': app.id });
    expect(await ops(s, 'error')).toMatchObject({ type: 'validation-failed', 'client-event-id': 'e6' });
    s.send({ op: 'transact', 'client-event-id': 'e7', 'tx-steps': [['add-triple', id(), id(), 1]] });
    expect(await ops(s, 'error')).toMatchObject({ type: 'validation-failed', 'client-event-id': 'e7' });
  });

  it("the writer's own session gets refresh-ok with a processed-tx-id at least its tx-id", async () => {
    const { s, ok } = await initialized({ '__admin-token': app.adminToken });
    const attr = (label: string) =>
      ok.attrs.find((a: Message) => a['forward-identity'][1] === 'tasks' && a['forward-identity'][2] === label).id;
    const q = { tasks: {} };
    s.send({ op: 'add-query', 'client-event-id': 'q1', q });
    const first = await ops(s, 'add-query-ok');
    expect(first.result[0].data['datalog-result']['join-rows']).toEqual([[]]);
    const task = id();
    s.send({
      op: 'transact',
      'client-event-id': 't1',
      'tx-steps': [
        ['add-triple', task, attr('id'), task, { mode: 'create' }],
        ['add-triple', task, attr('title'), 'hello', { mode: 'create' }],
        ['add-triple', task, attr('createdAt'), 5, { mode: 'create' }],
      ],
    });
    const txOk = await ops(s, 'transact-ok');
    expect(txOk).toMatchObject({ 'client-event-id': 't1', 'tx-id': expect.any(Number) });
    const refresh = await ops(s, 'refresh-ok');
    expect(refresh['processed-tx-id']).toBeGreaterThanOrEqual(txOk['tx-id']);
    expect(refresh.computations).toHaveLength(1);
    expect(refresh.computations[0]['instaql-query']).toEqual(q);
    const triples = refresh.computations[0]['instaql-result'][0].data['datalog-result']['join-rows'][0];
    expect(triples).toEqual(
      expect.arrayContaining([
        [task, attr('id'), task, expect.any(Number)],
        [task, attr('title'), 'hello', expect.any(Number)],
      ]),
    );
    expect(refresh).not.toHaveProperty('attrs'); // unchanged attrs stay out for clients above v0.20.4
    s.send({ op: 'add-query', 'client-event-id': 'q2', q: { tasks: { $: { where: { title: 'hello' } } } } });
    expect((await ops(s, 'add-query-ok'))['processed-tx-id']).toBe(refresh['processed-tx-id']);
  });

  it('the same q twice is add-query-exists; a removed query is no longer refreshed', async () => {
    const { s, ok } = await initialized({ '__admin-token': app.adminToken });
    const attr = (label: string) =>
      ok.attrs.find((a: Message) => a['forward-identity'][1] === 'tasks' && a['forward-identity'][2] === label).id;
    const all = { tasks: {} };
    const ordered = { tasks: { $: { order: { createdAt: 'desc' } } } };
    s.send({ op: 'add-query', 'client-event-id': 'a', q: all });
    s.send({ op: 'add-query', 'client-event-id': 'b', q: ordered });
    await ops(s, 'add-query-ok');
    await ops(s, 'add-query-ok');
    s.send({ op: 'add-query', 'client-event-id': 'c', q: { tasks: {} } });
    expect(await ops(s, 'add-query-exists')).toMatchObject({ 'client-event-id': 'c' });
    s.send({ op: 'remove-query', 'client-event-id': 'd', q: all });
    expect(await ops(s, 'remove-query-ok')).toMatchObject({ q: all });
    const task = id();
    s.send({
      op: 'transact',
      'client-event-id': 't',
      'tx-steps': [
        ['add-triple', task, attr('id'), task],
        ['add-triple', task, attr('createdAt'), 1],
      ],
    });
    const refresh = await ops(s, 'refresh-ok');
    expect(refresh.computations.map((c: Message) => c['instaql-query'])).toEqual([ordered]);
  });

  it('messages of one turn travel as one array frame for clients above 0.22.75, one by one below', async () => {
    for (const [version, batched] of [
      ['v1.0.67', true],
      ['v0.22.75', false],
    ] as const) {
      const { s } = await initialized({}, { '@instantdb/core': version });
      s.send([
        { op: 'add-query', 'client-event-id': 'x', q: { tasks: {} } },
        { op: 'add-query', 'client-event-id': 'y', q: { databases: {} } },
      ]);
      await s.settle();
      const replies = s.frames.slice(1);
      const okInOneFrame = replies.some(
        (f) => Array.isArray(f) && f.filter((m: Message) => m.op === 'add-query-ok').length === 2,
      );
      expect(okInOneFrame).toBe(batched);
      expect(replies.every((f) => !Array.isArray(f))).toBe(!batched);
    }
  });

  it('add-attr keeps a new attribute’s id, and one the app has is deduplicated by its forward identity', async () => {
    const { s, ok } = await initialized({ '__admin-token': app.adminToken });
    const existing = (ns: string, label: string) =>
      ok.attrs.find((a: Message) => a['forward-identity'][1] === ns && a['forward-identity'][2] === label);
    const [fresh, duplicate, reversed] = [id(), id(), id()];
    const task = id();
    const user = id();
    s.send({
      op: 'transact',
      'client-event-id': 't',
      'tx-steps': [
        [
          'add-attr',
          { id: fresh, 'forward-identity': [id(), 'tasks', 'colour'], 'value-type': 'blob', cardinality: 'one' },
        ],
        // `tasks.title` exists under another id: the client's id stands for it.
        [
          'add-attr',
          { id: duplicate, 'forward-identity': [id(), 'tasks', 'title'], 'value-type': 'blob', cardinality: 'one' },
        ],
        // The owner link declared from the $users side: its triples come with source and target swapped.
        [
          'add-attr',
          {
            id: reversed,
            'forward-identity': [id(), '$users', 'tasks'],
            'reverse-identity': [id(), 'tasks', 'owner'],
            'value-type': 'ref',
            cardinality: 'many',
          },
        ],
        ['add-triple', user, existing('$users', 'id').id, user],
        ['add-triple', task, existing('tasks', 'id').id, task],
        ['add-triple', task, fresh, 'red'],
        ['add-triple', task, duplicate, 'titled'],
        ['add-triple', task, existing('tasks', 'createdAt').id, 1],
        ['add-triple', user, reversed, task],
      ],
    });
    await ops(s, 'transact-ok');
    const res = await fetch(`${sandbox.url}/admin/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'app-id': app.id, authorization: `Bearer ${app.adminToken}` },
      body: JSON.stringify({ query: { tasks: { owner: {} } } }),
    });
    const { tasks } = (await res.json()) as { tasks: Message[] };
    expect(tasks).toEqual([
      expect.objectContaining({
        id: task,
        colour: 'red',
        title: 'titled',
        owner: [expect.objectContaining({ id: user })],
      }),
    ]);
    const schemaRes = await fetch(`${sandbox.url}/superadmin/apps/${app.id}/schema`, {
      headers: { authorization: `Bearer ${sandbox.platformToken}` },
    });
    const { schema: stored } = (await schemaRes.json()) as { schema: Message };
    expect(stored['blobs'].tasks.colour.id).toBe(fresh);
    expect(stored['blobs'].tasks.title.id).toBe(existing('tasks', 'title').id);
  });

  it('a browser may not change attributes; an admin session skips the rules and sees every field', async () => {
    const { s: browser } = await initialized();
    browser.send({ op: 'transact', 'client-event-id': 'u', 'tx-steps': [['update-attr', { id: id() }]] });
    expect(await ops(browser, 'error')).toMatchObject({
      type: 'permission-denied',
      hint: { input: ['attrs', 'attr'] },
    });

    const { s: admin, ok } = await initialized({ '__admin-token': app.adminToken });
    expect(ok.auth['admin?']).toBe(true);
    const attr = (label: string) =>
      ok.attrs.find((a: Message) => a['forward-identity'][1] === 'databases' && a['forward-identity'][2] === label).id;
    const record = id();
    admin.send({
      op: 'transact',
      'client-event-id': 't',
      'tx-steps': [
        ['add-triple', record, attr('id'), record],
        ['add-triple', record, attr('adminToken'), 'the-token'],
        ['add-triple', record, attr('name'), 'n'],
        ['add-triple', record, attr('taskId'), 't'],
        ['add-triple', record, attr('status'), 'ready'],
        ['add-triple', record, attr('createdAt'), 1],
      ],
    });
    await ops(admin, 'transact-ok');
    admin.send({ op: 'add-query', 'client-event-id': 'q', q: { databases: {} } });
    expect(JSON.stringify(await ops(admin, 'add-query-ok'))).toContain('the-token');
    browser.send({ op: 'add-query', 'client-event-id': 'q', q: { databases: {} } });
    const seen = await ops(browser, 'add-query-ok');
    expect(seen.result[0].data['datalog-result']['join-rows']).toEqual([[]]);

    const { ok: refused } = await initialized({ '__admin-token': id() });
    expect(refused).toMatchObject({
      op: 'error',
      type: 'record-not-found',
      hint: { 'record-type': 'app-admin-token' },
    });
  });

  it('other upgrade paths are refused, and closing the sandbox closes the sessions', async () => {
    const stray = new WebSocket(sandbox.websocketURI.replace('/runtime/session', '/elsewhere'));
    const [error] = (await once(stray, 'error')) as [Error];
    expect(error.message).toContain('404');
    const { s } = await initialized();
    expect(s).toBeDefined();
    expect(sandbox.stats().clientSessions).toBe(1);
    const closed = once(sockets[sockets.length - 1]!, 'close');
    await sandbox.close();
    await closed;
  });
});
