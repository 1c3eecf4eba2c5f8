/**
 * What the React kit's tests run against: a sandbox with the shipped schema and rules, the admin
 * SDK for the daemon's side (its writes, made as the daemon makes them: the record with a fence per
 * generation), and signed-in `@instantdb/react` clients for the browser's side.
 */
import { id, init as adminInit, type InstantAdminDatabase } from '@instantdb/admin';
import type { InstantReactWebDatabase } from '@instantdb/react';
import perms from '../../instant.perms.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';
import { schema } from '../sandbox/helpers.js';
import { connected } from '../sandbox/simulated-browser.js';
import { openReactClient } from './react-browser.js';

export interface KitWorld {
  readonly sandbox: Sandbox;
  readonly admin: InstantAdminDatabase<typeof schema>;
  /** A client signed in as `email` (made on first use), and the user's id. */
  signedIn(email: string): Promise<{ db: InstantReactWebDatabase<typeof schema>; userId: string }>;
  /** A task owned by `userId`; returns its id. */
  createTask(userId: string): Promise<string>;
  /** The daemon's claim: a `provisioning` record named `name`, linked to the task; returns the record's id. */
  claim(taskId: string, name: string): Promise<string>;
  /** A fenced write to the record, as the daemon makes them (generation g with its fence). */
  daemonWrite(record: string, fields: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function startKitWorld(seed: number): Promise<KitWorld> {
  const sandbox = await startSandbox({ seed });
  const app = sandbox.createApp({ title: 'main', schema, perms });
  const admin = adminInit({ appId: app.id, adminToken: app.adminToken, apiURI: sandbox.url, schema });
  const clients: Array<{ core: { shutdown(): void } }> = [];
  const generations = new Map<string, number>();
  return {
    sandbox,
    admin,
    async signedIn(email) {
      const token = await admin.auth.createToken(email);
      const db = openReactClient(sandbox, app.id, schema);
      clients.push(db);
      await db.auth.signInWithToken(token);
      await connected(db.core);
      const { $users } = await admin.query({ $users: { $: { where: { email } } } });
      return { db, userId: $users[0]!.id };
    },
    async createTask(userId) {
      const task = id();
      await admin.transact(admin.tx.tasks[task]!.update({ title: 't', createdAt: Date.now() }).link({ owner: userId }));
      return task;
    },
    async claim(taskId, name) {
      const record = id();
      generations.set(record, 1);
      await admin.transact([
        admin.tx.databases[record]!.update({
          taskId,
          name,
          status: 'provisioning',
          createdAt: Date.now(),
          adminToken: 'secret-admin-token',
          leaseOwner: 'daemon-1',
          generation: 1,
        }),
        admin.tx.tasks[taskId]!.link({ mainDatabase: record }),
      ]);
      return record;
    },
    async daemonWrite(record, fields) {
      const generation = (generations.get(record) ?? 0) + 1;
      generations.set(record, generation);
      await admin.transact([
        admin.tx.databases[record]!.update({ ...fields, generation } as never),
        admin.tx.databaseFences[id()]!.update({
          key: `${record}/${generation}`,
          owner: 'daemon-1',
          createdAt: Date.now(),
        }),
      ]);
    },
    async close() {
      for (const client of clients) client.core.shutdown();
      await sandbox.close();
    },
  };
}
