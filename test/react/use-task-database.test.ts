// @vitest-environment happy-dom
// The admin SDK (the daemon's side) fetches the sandbox too: no same-origin policy for it.
// @vitest-environment-options {"settings": {"fetch": {"disableSameOriginPolicy": true}}}
/**
 * useTaskDatabase through the real `@instantdb/react` client against the sandbox: a signed-in owner
 * sees their task's database go through every status the daemon writes (admin transacts, as the
 * daemon makes them), live; a null task id sends no query; another user sees nothing.
 */
import { id } from '@instantdb/admin';
import { createElement } from 'react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useTaskDatabase, type TaskDatabase, type TaskDatabaseReader } from '../../src/react/index.js';
import { schema } from '../sandbox/helpers.js';
import { taskDatabaseOf } from '../../src/react/use-task-database.js';
import { sentFrames } from '../sandbox/simulated-browser.js';
import { startKitWorld, type KitWorld } from './kit-world.js';
import { render, waitForDom, type Mounted } from './react-browser.js';

let world: KitWorld;
const mounted: Mounted[] = [];

beforeEach(async () => {
  world = await startKitWorld(31);
});

afterEach(async () => {
  for (const m of mounted.splice(0)) m.unmount();
  await world.close();
});

type Db = TaskDatabaseReader<typeof schema>;

/** Renders the hook's result as JSON, so a test can read it from the DOM. */
function Probe({ db, taskId }: { db: Db; taskId: string | null }) {
  return createElement('pre', null, JSON.stringify(useTaskDatabase(db, taskId)));
}

function mount(db: Db, taskId: string | null): Mounted {
  const m = render(createElement(Probe, { db, taskId }));
  mounted.push(m);
  return m;
}

/** The hook's last result; null before the first render. */
function stateOf(m: Mounted): TaskDatabase | null {
  const text = m.container.querySelector('pre')?.textContent;
  return text ? (JSON.parse(text) as TaskDatabase) : null;
}

/** Waits until the rendered result has the `expected` fields, and returns all of it. */
function until(m: Mounted, expected: Partial<TaskDatabase>): Promise<TaskDatabase> {
  return waitForDom(m.container, `useTaskDatabase to return ${JSON.stringify(expected)}`, () => {
    const state = stateOf(m);
    if (!state) return null;
    const same = Object.entries(expected).every(
      ([key, value]) => JSON.stringify(state[key as keyof TaskDatabase]) === JSON.stringify(value),
    );
    return same && state;
  });
}

describe('useTaskDatabase', () => {
  it("follows a task's database live: none → provisioning → copying → ready → failed → refused", async () => {
    const { db, userId } = await world.signedIn('owner@example.com');
    const task = await world.createTask(userId);
    const m = mount(db, task);

    expect(await until(m, { isLoading: false })).toEqual({
      status: 'none',
      name: null,
      appId: null,
      apiUri: null,
      error: null,
      progress: null,
      isLoading: false,
    });

    const record = await world.claim(task, 'swift-blue-otter');
    expect(await until(m, { status: 'provisioning' })).toMatchObject({
      name: 'swift-blue-otter',
      appId: null,
      progress: null,
    });

    await world.daemonWrite(record, { status: 'copying', copiedEntities: 50, totalEntities: 200 });
    expect(await until(m, { status: 'copying' })).toMatchObject({
      progress: { copied: 50, total: 200, fraction: 0.25 },
    });

    const appOfTask = id();
    await world.daemonWrite(record, {
      status: 'ready',
      instantAppId: appOfTask,
      apiUri: 'https://instant.internal.example.com',
      readyAt: Date.now(),
    });
    expect(await until(m, { status: 'ready' })).toEqual({
      status: 'ready',
      name: 'swift-blue-otter',
      appId: appOfTask,
      apiUri: 'https://instant.internal.example.com',
      error: null,
      progress: null,
      isLoading: false,
    });

    await world.daemonWrite(record, { status: 'failed', error: 'create refused: 400 validation-failed' });
    expect(await until(m, { status: 'failed' })).toMatchObject({ error: 'create refused: 400 validation-failed' });

    await world.daemonWrite(record, { status: 'refused', error: 'the owner has 10 databases' });
    expect(await until(m, { status: 'refused' })).toMatchObject({ error: 'the owner has 10 databases' });
  });

  it("shows another user's task as none: the rules hide it", async () => {
    const owner = await world.signedIn('owner@example.com');
    const other = await world.signedIn('other@example.com');
    const task = await world.createTask(owner.userId);
    const record = await world.claim(task, 'quiet-green-heron');
    await world.daemonWrite(record, { status: 'ready', instantAppId: id() });
    // The owner's view proves the data is there before the other user's "none" counts.
    expect(await until(mount(owner.db, task), { status: 'ready' })).toMatchObject({ name: 'quiet-green-heron' });
    expect(await until(mount(other.db, task), { isLoading: false })).toMatchObject({ status: 'none', name: null });
  });

  it('a null task id sends no query and stays loading, as db.useQuery does', async () => {
    const { db, userId } = await world.signedIn('owner@example.com');
    const addQueries = () => sentFrames.filter((frame) => frame.includes('"add-query"')).length;
    const before = addQueries();
    const deferred = mount(db, null);
    // A query for a real task rendered after it proves the client is sending.
    await until(mount(db, await world.createTask(userId)), { isLoading: false });
    expect(addQueries()).toBe(before + 1);
    expect(stateOf(deferred)).toMatchObject({ status: 'none', isLoading: true });
  });
});

describe('taskDatabaseOf', () => {
  const base = { isLoading: false, error: null };
  it('maps an unknown status to none, keeps a failed error, and ignores progress outside copying', () => {
    expect(taskDatabaseOf({ ...base, record: { status: 'exploded' } }).status).toBe('none');
    expect(
      taskDatabaseOf({ ...base, record: { status: 'ready', error: 'old', copiedEntities: 1, totalEntities: 2 } }),
    ).toMatchObject({ error: null, progress: null });
    expect(taskDatabaseOf({ ...base, record: { status: 'failed', error: 'boom' } }).error).toBe('boom');
  });

  it('reports a copy without totals as no progress, and caps the fraction at 1', () => {
    expect(taskDatabaseOf({ ...base, record: { status: 'copying', copiedEntities: 5 } }).progress).toBeNull();
    const empty = { status: 'copying', copiedEntities: 0, totalEntities: 0 };
    expect(taskDatabaseOf({ ...base, record: empty }).progress).toBeNull();
    const over = { status: 'copying', copiedEntities: 12, totalEntities: 10 };
    expect(taskDatabaseOf({ ...base, record: over }).progress).toEqual({ copied: 12, total: 10, fraction: 1 });
  });

  it("carries the query's error when the read failed", () => {
    expect(taskDatabaseOf({ isLoading: false, error: 'Permission denied', record: undefined })).toMatchObject({
      status: 'none',
      error: 'Permission denied',
    });
  });
});
