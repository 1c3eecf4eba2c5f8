/**
 * Rule-filtered live queries recompute only when a transaction touches what the query or the
 * rules of its namespaces read (rules/rule-deps.ts); a rule whose reads cannot be told makes
 * every change count.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { expect, test } from 'vitest';
import perms from '../../instant.perms.js';
import { AppRegistry } from '../../src/sandbox/apps.js';
import { CompiledQuery } from '../../src/sandbox/instaql.js';
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

test("rule-wheres: an ownership rule narrows a user's scan to their own entities, with the same result", () => {
  const rules = rulesFor(perms as never);
  expect(rules.program('tasks', 'view')!.ownerPaths).toEqual(['owner.id']);
  expect(rules.program('databases', 'view')!.ownerPaths).toEqual(['task.owner.id']);
  const either = rulesFor({ tasks: { allow: { view: "auth.id in data.ref('owner.id') || data.title == 'x'" } } });
  expect(either.program('tasks', 'view')!.ownerPaths).toEqual([]);

  const { app, user, newId } = setup(perms);
  const other = app.users.signIn({ email: 'b@example.com' }).user;
  const own = newId();
  const steps: unknown[] = [
    ['update', 'tasks', own, { createdAt: 1 }],
    ['link', 'tasks', own, { owner: user.id }],
  ];
  for (let i = 0; i < 30; i++) {
    const task = newId();
    steps.push(['update', 'tasks', task, { createdAt: 2 + i }], ['link', 'tasks', task, { owner: other.id }]);
  }
  applyTransaction(app, steps, true, newId);
  const asked: string[] = [];
  const counting = (reader: RuleVisibility) => ({
    entity: (ns: string, id: string) => (asked.push(id), reader.entity(ns, id)),
    field: (ns: string, id: string, label: string) => reader.field(ns, id, label),
    prefilter: (ns: string) => reader.prefilter(ns),
  });
  const compiled = CompiledQuery.compile(app.catalog, { tasks: {} }, false);
  const mine = compiled.run(app.store, undefined, counting(new RuleVisibility(app, { user })));
  expect((mine.result['tasks'] as { id: string }[]).map((t) => t.id)).toEqual([own]);
  expect(asked).toEqual([own]);
  const guest = compiled.run(app.store, undefined, new RuleVisibility(app, { user: null }));
  expect(guest.result['tasks']).toEqual([]);
});
