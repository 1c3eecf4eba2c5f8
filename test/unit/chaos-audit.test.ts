/** The chaos run's audit on crafted states: it must see every way two tasks could end up sharing one app. */
import { describe, expect, it } from 'vitest';
import { auditWorld, type MainDb, type SandboxApp } from '../chaos/audit.js';

const MAIN = 'main-app';

interface Row {
  id: string;
  taskId: string;
  name: string;
  status: string;
  instantAppId: string | null;
  adminToken: string | null;
}

/** A main app as the SDK answers the audit's two queries. */
function mainApp(records: Row[], links: Record<string, string | null> = {}): MainDb {
  const taskIds = [...new Set(records.map((record) => record.taskId))];
  const db = {
    query: async (query: Record<string, unknown>) =>
      'tasks' in query
        ? {
            tasks: taskIds.map((id) => {
              const linked = id in links ? links[id] : records.find((record) => record.taskId === id)!.id;
              return { id, mainDatabase: linked === null ? null : { id: linked } };
            }),
          }
        : { databases: records.map((record) => ({ ...record, task: { id: record.taskId } })) },
  };
  return db as unknown as MainDb;
}

const app = (id: string, title: string): SandboxApp => ({ id, title, deletedAt: null, adminToken: `token-${id}` });
const record = (n: number, appId: string, adminToken = `token-${appId}`): Row => ({
  id: `record-${n}`,
  taskId: `task-${n}`,
  name: `name-${n}`,
  status: 'ready',
  instantAppId: appId,
  adminToken,
});
const MAIN_APP: SandboxApp = { id: MAIN, title: 'main', deletedAt: null, adminToken: 'main-token' };

describe('the chaos audit', () => {
  it('passes a world where every task has its own ready record and app', async () => {
    const apps = [MAIN_APP, app('app-1', 'name-1'), app('app-2', 'name-2')];
    const audit = await auditWorld(mainApp([record(1, 'app-1'), record(2, 'app-2')]), apps, MAIN);
    expect(audit).toMatchObject({ tasks: 2, records: 2, liveApps: 2, violations: [] });
  });

  it('sees two records naming one app', async () => {
    const apps = [MAIN_APP, app('app-1', 'name-1'), app('app-2', 'name-2')];
    const audit = await auditWorld(mainApp([record(1, 'app-1'), record(2, 'app-1')]), apps, MAIN);
    expect(audit.violations).toContain('app app-1 is recorded by record-1 and record-2');
  });

  it("sees a record holding another task's app's token", async () => {
    const apps = [MAIN_APP, app('app-1', 'name-1'), app('app-2', 'name-2')];
    const audit = await auditWorld(mainApp([record(1, 'app-1'), record(2, 'app-2', 'token-app-1')]), apps, MAIN);
    expect(audit.violations).toEqual([
      'record record-2 holds the admin token of app app-1, not of its app app-2',
      'records record-1 and record-2 hold one admin token',
    ]);
  });

  it('sees records whose apps were swapped (each app made for the other record)', async () => {
    const apps = [MAIN_APP, app('app-1', 'name-1'), app('app-2', 'name-2')];
    const audit = await auditWorld(
      mainApp([record(1, 'app-2', 'token-app-2'), record(2, 'app-1', 'token-app-1')]),
      apps,
      MAIN,
    );
    expect(audit.violations).toEqual([
      'record record-1 (name-1) points at app app-2, made for name-2',
      'record record-2 (name-2) points at app app-1, made for name-1',
    ]);
  });

  it('sees a task linked to a record that is not its own', async () => {
    const apps = [MAIN_APP, app('app-1', 'name-1'), app('app-2', 'name-2')];
    const audit = await auditWorld(
      mainApp([record(1, 'app-1'), record(2, 'app-2')], { 'task-2': 'record-1' }),
      apps,
      MAIN,
    );
    expect(audit.violations).toEqual(['task task-2 is linked to record-1, not to its own record record-2']);
  });
});
