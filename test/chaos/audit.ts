/**
 * The promise, checked from the outside: through the real SDK (what the main app
 * says) and the sandbox's inspection API (every app ever created). Among the
 * checks: no two tasks share an app, whether by its id (two records name it),
 * by its token (a record holds another app's admin token) or by a mix-up (a
 * record names an app made for another record, titled with that record's name).
 */
import { init } from '@instantdb/admin';
import schema from '../../instant.schema.js';

export type MainDb = ReturnType<typeof init<typeof schema>>;

export interface SandboxApp {
  id: string;
  title: string;
  deletedAt: string | null;
  adminToken: string;
}

export interface Audit {
  tasks: number;
  records: number;
  /** Apps ever created for tasks (the main app excluded). */
  appsCreated: number;
  liveApps: number;
  /** Apps created that no record keeps: lost answers, kills between create and record, lost races. */
  orphansCreated: number;
  orphansCollected: number;
  recordedAppIds: Set<string>;
  adminTokens: string[];
  violations: string[];
}

interface RecordRow {
  id: string;
  taskId: string;
  name: string;
  status: string;
  instantAppId?: string | null;
  adminToken?: string | null;
  task?: { id: string } | null;
}

export async function auditWorld(db: MainDb, apps: SandboxApp[], mainAppId: string): Promise<Audit> {
  const { tasks } = await db.query({ tasks: { mainDatabase: {} } });
  const { databases } = (await db.query({ databases: { task: {} } })) as unknown as { databases: RecordRow[] };
  const created = apps.filter((app) => app.id !== mainAppId);
  const live = new Map(created.filter((app) => app.deletedAt === null).map((app) => [app.id, app]));
  const violations: string[] = [];

  const recordsByTask = new Map<string, RecordRow[]>();
  for (const record of databases)
    recordsByTask.set(record.taskId, [...(recordsByTask.get(record.taskId) ?? []), record]);
  const owners = new Map<string, string>();
  const tokenHolders = new Map<string, string>();
  const appOfToken = new Map(created.map((app) => [app.adminToken, app.id]));
  for (const record of databases) {
    if (record.status !== 'ready') violations.push(`record ${record.id} (task ${record.taskId}) is ${record.status}`);
    if (!record.instantAppId) continue;
    const app = live.get(record.instantAppId);
    if (!app) violations.push(`record ${record.id} points at app ${record.instantAppId}, which does not exist`);
    else if (app.title !== record.name)
      violations.push(`record ${record.id} (${record.name}) points at app ${app.id}, made for ${app.title}`);
    const other = owners.get(record.instantAppId);
    if (other) violations.push(`app ${record.instantAppId} is recorded by ${other} and ${record.id}`);
    owners.set(record.instantAppId, record.id);
    if (!record.adminToken) {
      violations.push(`record ${record.id} is ready without an admin token`);
      continue;
    }
    const tokenOf = appOfToken.get(record.adminToken);
    if (tokenOf !== record.instantAppId)
      violations.push(
        `record ${record.id} holds the admin token of ${tokenOf ? `app ${tokenOf}` : 'no app'}, not of its app ${record.instantAppId}`,
      );
    const sharer = tokenHolders.get(record.adminToken);
    if (sharer) violations.push(`records ${sharer} and ${record.id} hold one admin token`);
    tokenHolders.set(record.adminToken, record.id);
  }
  for (const task of tasks) {
    const linked = task.mainDatabase as { id: string } | null | undefined;
    const claimed = recordsByTask.get(task.id) ?? [];
    if (!linked) violations.push(`task ${task.id} is not linked to a database`);
    else if (claimed.length !== 1) violations.push(`task ${task.id} has ${claimed.length} records`);
    else if (claimed[0]!.id !== linked.id)
      violations.push(`task ${task.id} is linked to ${linked.id}, not to its own record ${claimed[0]!.id}`);
  }
  if (databases.length !== tasks.length) violations.push(`${databases.length} records for ${tasks.length} tasks`);
  if (live.size !== tasks.length) violations.push(`${live.size} live apps for ${tasks.length} tasks`);
  for (const app of live.values()) {
    if (!owners.has(app.id)) violations.push(`live app ${app.id} (${app.title}) belongs to no record`);
  }

  const orphans = created.filter((app) => !owners.has(app.id));
  return {
    tasks: tasks.length,
    records: databases.length,
    appsCreated: created.length,
    liveApps: live.size,
    orphansCreated: orphans.length,
    orphansCollected: orphans.filter((app) => app.deletedAt !== null).length,
    recordedAppIds: new Set(owners.keys()),
    adminTokens: databases.flatMap((record) => (record.adminToken ? [record.adminToken] : [])),
    violations,
  };
}

/** Log lines that contain any of the secrets. */
export function linesWithSecrets(lines: string[], secrets: string[]): string[] {
  // Every secret, however short: the scrubber must have caught it.
  const needles = secrets.filter((secret) => secret !== '');
  return lines.filter((line) => needles.some((secret) => line.includes(secret)));
}
