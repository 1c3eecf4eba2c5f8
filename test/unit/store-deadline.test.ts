import { describe, expect, it } from 'vitest';
import { InstantStore } from '../../src/store/instant-store.js';
import type { MainDb } from '../../src/store/instant-db.js';
import { FakeClock } from '../fakes/fake-clock.js';

/** Just enough of the SDK for listUnlinkedTasks: a query that answers when the test says so. */
function stubDb() {
  const pending: Array<(result: unknown) => void> = [];
  const db = { query: () => new Promise((resolve) => pending.push(resolve)) } as unknown as MainDb;
  return { db, answer: (result: unknown) => pending.shift()!(result) };
}

describe('store call deadline', () => {
  it('fails a call the main app does not answer in time as unavailable', async () => {
    const clock = new FakeClock();
    const { db } = stubDb();
    const store = new InstantStore({ db, clock, timeoutMs: 5_000 });
    const call = store.listUnlinkedTasks(1);
    const failed = expect(call).rejects.toMatchObject({
      kind: 'unavailable',
      message: 'the main app did not answer within 5000 ms',
    });
    await clock.advance(4_999);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(1);
    await failed;
  });

  it('answers a call that returns in time and leaves no timer behind', async () => {
    const clock = new FakeClock();
    const { db, answer } = stubDb();
    const store = new InstantStore({ db, clock, timeoutMs: 5_000 });
    const call = store.listUnlinkedTasks(1);
    await clock.advance(100);
    answer({ tasks: [{ id: 't1' }] });
    await expect(call).resolves.toEqual([{ id: 't1', ownerId: null, forkedFrom: null }]);
    expect(clock.pendingTimers).toBe(0);
  });
});
