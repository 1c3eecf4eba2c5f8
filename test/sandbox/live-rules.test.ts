/**
 * Rule-filtered live queries recompute only when a transaction touches what the query or the
 * rules of its namespaces read (rules/rule-deps.ts); a rule whose reads cannot be told makes
 * every change count.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect, test } from 'vitest';
import perms from '../../instant.perms.js';
import { AppRegistry } from '../../src/sandbox/apps.js';
import { LiveQueries } from '../../src/sandbox/live.js';
import { rulesFor } from '../../src/sandbox/rules/program.js';
import { RuleVisibility } from '../../src/sandbox/rules/query-filter.js';
import { mulberry32, randomUuid } from '../../src/sandbox/rng.js';
import { applyTransaction } from '../../src/sandbox/transact.js';
import { schema } from './helpers.js';

function setup(rules: unknown) {
  const random = mulberry32(5);
  const newId = () => randomUuid(random);
  const app = new AppRegistry(newId, newId()).create({ title: 'main', schema, perms: rules, via: 'programmatic' });
  const live = new LiveQueries(60_000);
  const { user } = app.users.signIn({ email: 'a@example.com' });
  const write = async (steps: unknown[]) => {
    live.notify(app, applyTransaction(app, steps, true, newId), 1);
    await nextTurn();
  };
  const results: string[] = [];
  live.subscribe({
    app,
    query: { tasks: { mainDatabase: {} } },
    inference: false,
    evaluate: (compiled, store, starts, seen) => {
      const run = compiled.run(store, starts, seen);
      return { json: JSON.stringify(run.result), firstKeys: run.firstKeys };
    },
    seen: () => new RuleVisibility(app, { user }),
    changed: (result) => results.push(result.json),
    failed: (error) => {
      throw error;
    },
  });
  return { app, live, user, newId, write, results };
}

test("the shipped rules' reads: tasks follow their owner link, databases their task's owner", () => {
  const rules = rulesFor(perms as never);
  expect(rules.program('tasks', 'view')!.reads).toEqual({ dataRefs: ['owner.id'], authRefs: [], authFields: ['id'] });
  expect(rules.program('databases', 'view')!.reads).toMatchObject({ dataRefs: ['task.owner.id'] });
  expect(
    rulesFor({ tasks: { allow: { view: 'auth.id in data.ref(ruleParams.path)' } } }).program('tasks', 'view')!.reads,
  ).toBeNull();
});

test('a write the query and its rules do not read costs no recompute; one they read does', async () => {
  const { live, user, newId, write, results } = setup(perms);
  await write([['update', 'databaseFences', newId(), { key: 'k/1', owner: 'd', createdAt: 1 }]]);
  await write([['update', 'iterations', newId(), { createdAt: 1 }]]);
  expect(live.recomputes).toBe(0);
  const task = newId();
  await write([['update', 'tasks', task, { createdAt: 2 }]]);
  expect(live.recomputes).toBe(1);
  expect(results).toEqual([]); // not visible until it has an owner
  // The owner link is what the tasks view rule reads.
  await write([['link', 'tasks', task, { owner: user.id }]]);
  expect(live.recomputes).toBe(2);
  expect(results).toHaveLength(1);
  expect(JSON.parse(results[0]!).tasks.map((t: { id: string }) => t.id)).toEqual([task]);
  live.close();
});

test('a rule whose reads cannot be told recomputes on every change of the app', async () => {
  const { live, newId, write } = setup({ tasks: { allow: { view: "auth.id in data.ref(ruleParams.path + '.id')" } } });
  await write([['update', 'databaseFences', newId(), { key: 'k/1', owner: 'd', createdAt: 1 }]]);
  expect(live.recomputes).toBe(1);
  live.close();
});
