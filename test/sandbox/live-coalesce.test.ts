import type { ServerResponse } from 'node:http';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect, test, vi } from 'vitest';
import { AppRegistry } from '../../src/sandbox/apps.js';
import { LiveQueries } from '../../src/sandbox/live.js';
import { mulberry32, randomUuid } from '../../src/sandbox/rng.js';
import { applyTransaction } from '../../src/sandbox/transact.js';
import { schema } from './helpers.js';

/** Just enough of a ServerResponse to record what a stream writes. */
function fakeStream() {
  const frames: string[] = [];
  const res = { writeHead: () => res, write: (chunk: string) => frames.push(chunk), on: () => res, end: () => {} };
  return { res: res as unknown as ServerResponse, frames };
}

test('transactions notified in one tick cost one recompute and one refresh-ok per subscription', async () => {
  const random = mulberry32(3);
  const newId = () => randomUuid(random);
  const app = new AppRegistry(newId, newId()).create({ title: 'main', schema, via: 'programmatic' });
  const live = new LiveQueries(60_000);
  const stream = fakeStream();
  live.open(app, stream.res, { tasks: { $: { where: { 'mainDatabase.id': { $isNull: true } } } } }, true, 0);
  expect(stream.frames.filter((f) => f.includes('"add-query-ok"'))).toHaveLength(1);

  for (let i = 0; i < 5; i++) {
    const changes = applyTransaction(app, [['update', 'tasks', newId(), { createdAt: i }]], true, newId);
    live.notify(app, changes, i + 1);
  }
  expect(live.recomputes).toBe(0); // nothing happens before the response has gone out
  await nextTurn();
  expect(live.recomputes).toBe(1);
  const refreshes = stream.frames.filter((f) => f.includes('"refresh-ok"'));
  expect(refreshes).toHaveLength(1);
  expect(JSON.parse(refreshes[0]!.slice('data:'.length)).computations[0]['instaql-result'].tasks).toHaveLength(5);
  live.close();
});

test('open streams get a keep-alive comment every 15 s', () => {
  vi.useFakeTimers();
  try {
    const newId = () => randomUuid(mulberry32(4));
    const app = new AppRegistry(newId, newId()).create({ title: 'main', via: 'programmatic' });
    const live = new LiveQueries(15_000);
    const stream = fakeStream();
    live.open(app, stream.res, { tasks: {} }, false, 0);
    vi.advanceTimersByTime(14_999);
    expect(stream.frames).not.toContain(':\n');
    vi.advanceTimersByTime(1);
    expect(stream.frames.filter((f) => f === ':\n')).toHaveLength(1);
    live.close();
  } finally {
    vi.useRealTimers();
  }
});
