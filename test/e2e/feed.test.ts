/**
 * The feed adapter with the real SDK against a scripted SSE server: the SDK gives
 * up for good after a non-200 answer, so the feed must notice and resubscribe.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import type { UnlinkedTask } from '../../src/core/types.js';
import { InstantFeed } from '../../src/feed/instant-feed.js';
import { connectMainDb } from '../../src/store/instant-db.js';
import { LogSink } from '../fakes/log-sink.js';
import { id } from '@instantdb/admin';
import { createTasks, eventually, world } from './helpers.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

it('resubscribes with backoff after the server refuses a subscription, and delivers the next snapshot', async () => {
  const answers = ['refuse', 'refuse', 'stream'];
  let requests = 0;
  server = createServer((req, res) => {
    req.resume();
    const body: string[] = [];
    req.on('data', (chunk) => body.push(String(chunk)));
    req.on('end', () => {
      const isTasks = body.join('').includes('"tasks"');
      if (!isTasks) {
        // The records subscription just streams an empty window.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('retry:500\n\n');
        res.write(`data:${JSON.stringify({ op: 'add-query-ok', result: { databases: [] }, 'result-meta': {} })}\n\n`);
        return;
      }
      const answer = answers[Math.min(requests++, answers.length - 1)];
      if (answer === 'refuse') {
        res
          .writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ type: 'unknown', message: 'Something went wrong.' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry:500\n\n');
      res.write(
        `data:${JSON.stringify({ op: 'add-query-ok', result: { tasks: [{ id: 'task-1' }, { id: 'task-2' }] }, 'result-meta': {} })}\n\n`,
      );
    });
  });
  server.on('connection', (socket) => socket.unref());
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const apiUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const log = new LogSink();
  const feed = new InstantFeed({
    db: connectMainDb({
      appId: '11111111-1111-4111-8111-111111111111',
      adminToken: '22222222-2222-4222-8222-222222222222',
      apiUri,
    }),
    clock: systemClock,
    logger: log,
    windowSize: 10,
    ownerLink: 'owner',
    resubscribe: { baseMs: 50, maxMs: 100 },
    random: () => 1,
    watchdogMs: 100,
  });
  const snapshots: string[][] = [];
  // Counted when the snapshot arrives: whatever the watchdog does afterwards does not change it.
  let requestsAtSnapshot = -1;
  const { stop } = feed.watch(
    {
      onUnlinkedTasks: (tasks) => {
        if (snapshots.length === 0) requestsAtSnapshot = requests;
        snapshots.push(tasks.map((task) => task.id));
      },
      onUnfinishedRecords: () => {},
      onDetachedRecords: () => {},
      onRetryRequests: () => {},
      onError: () => {},
    },
    'this-daemon',
  );
  await eventually(() => snapshots.length > 0, 10_000);
  stop();

  expect(snapshots[0]).toEqual(['task-1', 'task-2']);
  // Two refusals, then the stream that delivered it.
  expect(requestsAtSnapshot).toBe(3);
  expect(log.messages('warn').filter((message) => message === 'subscription closed; resubscribing')).toHaveLength(2);
  expect(log.messages('info')).toContain('subscription is back');
});

it('watches task ids with their owner and fork origin, and leaves records this daemon holds out of the records window', async () => {
  const w = await world();
  try {
    const feed = new InstantFeed({
      db: connectMainDb({ appId: w.appId, adminToken: w.env.INSTANT_ADMIN_TOKEN!, apiUri: w.sandbox.url }),
      clock: systemClock,
      logger: new LogSink(),
      windowSize: 10,
      ownerLink: 'owner',
      resubscribe: { baseMs: 50, maxMs: 100 },
      random: () => 1,
    });
    let tasks: UnlinkedTask[] = [];
    let records: string[] = [];
    const { stop } = feed.watch(
      {
        onUnlinkedTasks: (shown) => (tasks = shown),
        onUnfinishedRecords: (list) => (records = list.map((record) => record.leaseOwner ?? 'nobody')),
        onDetachedRecords: () => {},
        onRetryRequests: () => {},
        onError: () => {},
      },
      'me',
    );
    const [a, b, c, d] = await createTasks(w.db, 4);
    const user = id();
    const iteration = id();
    await w.db.transact([
      w.db.tx.$users[user]!.update({ email: 'owner@example.com' }),
      w.db.tx.iterations[iteration]!.update({ createdAt: Date.now() }).link({ task: a! }),
      w.db.tx.tasks[d!]!.link({ owner: user, forkedFrom: iteration }),
    ]);
    const record = (taskId: string, leaseOwner: string | null) => {
      const recordId = id();
      return [
        w.db.tx.databases[recordId]!.update({
          taskId,
          name: `n-${taskId}`,
          status: 'provisioning',
          createdAt: Date.now(),
          leaseOwner,
        }),
        w.db.tx.tasks[taskId]!.link({ mainDatabase: recordId }),
      ];
    };
    await w.db.transact([...record(a!, 'me'), ...record(b!, 'other'), ...record(c!, null)]);
    await eventually(() => tasks.length === 1 && records.length === 2);
    stop();
    expect(tasks).toEqual([{ id: d, ownerId: user, forkedFrom: iteration }]);
    expect(records.sort()).toEqual(['nobody', 'other']);
  } finally {
    await w.close();
  }
});
