/** Group commit: writes that queue up go out as one transaction, and each still gets its own answer. */
import { describe, expect, it } from 'vitest';
import { StoreError } from '../../src/errors.js';
import { GroupCommit } from '../../src/store/group-commit.js';
import { settle } from '../fakes/fake-clock.js';

/** A main app that answers each transaction when the test says so; a step is the name of what it writes. */
function slowMainApp() {
  const sent: Array<{ steps: string[]; answer: (error?: StoreError) => void }> = [];
  const send = (steps: string[]) =>
    new Promise<void>((resolve, reject) =>
      sent.push({ steps, answer: (error) => (error ? reject(error) : resolve()) }),
    );
  return { sent, send };
}

const outcome = (promise: Promise<void>) =>
  promise.then(
    () => 'ok',
    (error: StoreError) => error.kind,
  );

describe('group commit', () => {
  it('sends a write at once when nothing is in flight, and the writes queued behind it as one transaction', async () => {
    const { sent, send } = slowMainApp();
    const commits = new GroupCommit(send);
    const first = outcome(commits.write({ steps: ['claim a'], entities: ['a'] }));
    expect(sent.map((t) => t.steps)).toEqual([['claim a']]);

    const queued = ['b', 'c', 'd'].map((id) => outcome(commits.write({ steps: [`claim ${id}`], entities: [id] })));
    expect(sent).toHaveLength(1);
    sent[0]!.answer();
    expect(await first).toBe('ok');
    await settle();
    expect(sent.map((t) => t.steps)).toEqual([['claim a'], ['claim b', 'claim c', 'claim d']]);
    sent[1]!.answer();
    expect(await Promise.all(queued)).toEqual(['ok', 'ok', 'ok']);
    expect(commits.stats).toEqual({ writes: 4, transactions: 2 });
  });

  it('a refused group is sent again one by one: the refused write fails alone, the others commit', async () => {
    const { sent, send } = slowMainApp();
    const reports: Array<[number, number]> = [];
    const commits = new GroupCommit(send, { report: (writes, transactions) => reports.push([writes, transactions]) });
    const busy = commits.write({ steps: ['x'], entities: ['x'] });
    const writes = ['b', 'c', 'd'].map((id) => outcome(commits.write({ steps: [id], entities: [id] })));
    sent[0]!.answer();
    await busy;
    await settle();
    sent[1]!.answer(new StoreError('unique-violation', 'databases.name is taken'));
    await settle();
    expect(sent.slice(2).map((t) => t.steps)).toEqual([['b'], ['c'], ['d']]);
    sent[2]!.answer();
    sent[3]!.answer(new StoreError('unique-violation', 'databases.name is taken'));
    sent[4]!.answer();
    expect(await Promise.all(writes)).toEqual(['ok', 'unique-violation', 'ok']);
    expect(commits.stats).toEqual({ writes: 4, transactions: 5 });
    await settle();
    // Telemetry hears each group once it is done: the first alone, then three writes in 1 + 3 transactions.
    expect(reports).toEqual([
      [1, 1],
      [3, 4],
    ]);
  });

  it.each(['unavailable', 'token-rejected'] as const)(
    'a group that met %s gives every write that error, as if each had met it alone',
    async (kind) => {
      const { sent, send } = slowMainApp();
      const commits = new GroupCommit(send);
      const busy = commits.write({ steps: ['x'], entities: ['x'] });
      const writes = ['b', 'c'].map((id) => outcome(commits.write({ steps: [id], entities: [id] })));
      sent[0]!.answer();
      await busy;
      await settle();
      sent[1]!.answer(new StoreError(kind, 'no'));
      expect(await Promise.all(writes)).toEqual([kind, kind]);
      expect(sent).toHaveLength(2);
    },
  );

  it('writes on the same entity never share a group, and no later write on it overtakes one left behind', async () => {
    const { sent, send } = slowMainApp();
    const commits = new GroupCommit(send);
    void commits.write({ steps: ['x'], entities: ['x'] });
    void commits.write({ steps: ['claim r1 for t1'], entities: ['r1', 't1'] });
    void commits.write({ steps: ['ready r1'], entities: ['r1', 'f1'] });
    void commits.write({ steps: ['fence f1 again'], entities: ['f1'] });
    void commits.write({ steps: ['claim r2 for t2'], entities: ['r2', 't2'] });
    for (let i = 0; i < 3; i++) {
      sent[i]!.answer();
      await settle();
    }
    expect(sent.map((t) => t.steps)).toEqual([
      ['x'],
      ['claim r1 for t1', 'claim r2 for t2'],
      ['ready r1'],
      ['fence f1 again'],
    ]);
  });

  it('caps a group at a number of steps, and never holds back a write larger than the cap', async () => {
    const { sent, send } = slowMainApp();
    const commits = new GroupCommit(send, { maxSteps: 4 });
    void commits.write({ steps: ['x'], entities: ['x'] });
    for (const id of ['a', 'b', 'c']) void commits.write({ steps: [`${id}1`, `${id}2`], entities: [id] });
    void commits.write({ steps: ['h1', 'h2', 'h3', 'h4', 'h5'], entities: ['h'] });
    for (let i = 0; i < 3; i++) {
      sent[i]!.answer();
      await settle();
    }
    expect(sent.map((t) => t.steps)).toEqual([
      ['x'],
      ['a1', 'a2', 'b1', 'b2'],
      ['c1', 'c2'],
      ['h1', 'h2', 'h3', 'h4', 'h5'],
    ]);
  });
});
