/**
 * What the restore and migrate tests share: task databases provisioned by the built CLI, filled
 * with data through the real admin SDK, and read back through it (any server, any app).
 */
import { id, init } from '@instantdb/admin';
import { spawn } from 'node:child_process';
import { expect } from 'vitest';
import { openAdminToken, parseTokenKey } from '../../src/token-seal.js';
import { CLI, createTasks, runCli, type World } from './helpers.js';

/** A task's ready database as its record names it, with the admin token opened. */
export interface TaskApp {
  taskId: string;
  recordId: string;
  name: string;
  appId: string;
  adminToken: string;
}

/** `count` tasks provisioned by `reconcile --once`; their apps as the records name them. */
export async function provisionTasks(w: World, env: Record<string, string>, count: number): Promise<TaskApp[]> {
  const taskIds = await createTasks(w.db, count);
  const run = await runCli(['reconcile', '--once'], env);
  expect(run.code, run.stderr).toBe(0);
  return Promise.all(taskIds.map((taskId) => taskApp(w, env, taskId)));
}

/** The app the task's record names now, its admin token opened with the environment's key. */
export async function taskApp(w: World, env: Record<string, string>, taskId: string): Promise<TaskApp> {
  const { databases } = await w.db.query({ databases: { $: { where: { taskId } } } });
  const record = databases[0]!;
  const key = env.PROVISIONER_TOKEN_KEY;
  const stored = record.adminToken!;
  return {
    taskId,
    recordId: record.id,
    name: record.name,
    appId: record.instantAppId!,
    adminToken: key ? openAdminToken(stored, record.id, parseTokenKey(key)) : stored,
  };
}

/** Writes `people` people and `notes` notes (each linked to a person) into the app, in chunks. */
export async function fillApp(
  apiURI: string,
  app: Pick<TaskApp, 'appId' | 'adminToken'>,
  people: number,
  notes: number,
) {
  const db = init({ appId: app.appId, adminToken: app.adminToken, apiURI });
  const personIds = Array.from({ length: people }, () => id());
  for (let start = 0; start < people; start += 500)
    await db.transact(
      personIds
        .slice(start, start + 500)
        .map((person, k) => db.tx['people']![person]!.update({ name: `p${start + k}` })),
    );
  for (let start = 0; start < notes; start += 500)
    await db.transact(
      Array.from({ length: Math.min(500, notes - start) }, (_, k) =>
        db.tx['notes']![id()]!.update({ text: `note ${start + k}` }).link({ people: personIds[(start + k) % people]! }),
      ),
    );
}

/** What an app holds, as the real admin SDK reads it with the given id and admin token on `apiURI`. */
export async function appContent(apiURI: string, app: Pick<TaskApp, 'appId' | 'adminToken'>) {
  const db = init({ appId: app.appId, adminToken: app.adminToken, apiURI });
  const { people, notes } = (await db.query({ people: {}, notes: { people: {} } })) as unknown as {
    people: Array<{ id: string; name: string }>;
    notes: Array<{ id: string; text: string; people: Array<{ id: string }> | { id: string } }>;
  };
  const linked = (value: Array<{ id: string }> | { id: string } | undefined) =>
    Array.isArray(value) ? value.map((v) => v.id) : value ? [value.id] : [];
  return {
    people: people.map((p) => `${p.id}:${p.name}`).sort(),
    notes: notes.map((n) => `${n.id}:${n.text}:${linked(n.people).join(',')}`).sort(),
  };
}

/** The built CLI running in the background (a command that prints a report, not a daemon's log lines). */
export function startCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', LOG_FORMAT: 'json', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    signal: (name: NodeJS.Signals) => child.kill(name),
    exited,
    output: () => ({ stdout, stderr }),
  };
}
