/**
 * The inline approach the daemon replaces (the original design): whoever creates a task
 * provisions its database on the spot. Per task, C at a time: create the app through the
 * Platform API, then write the ready record in one transaction and link the task to it in a
 * second. No claim, no lease, no fence, no retry: the fastest version of what it was.
 */
import { id } from '@instantdb/admin';
import PQueue from 'p-queue';
import type { MainAppEnv } from './processes.js';
import type { BenchDb } from './workload.js';

export class InlineProvisioner {
  private readonly slots: PQueue;
  private failures = 0;
  private firstError: unknown = null;

  constructor(
    private readonly db: BenchDb,
    private readonly env: MainAppEnv,
    concurrency: number,
  ) {
    this.slots = new PQueue({ concurrency });
  }

  /** Queues a task; its database is provisioned as soon as one of the C slots is free. */
  provision(taskId: string): void {
    void this.slots.add(() =>
      this.provisionNow(taskId).catch((error: unknown) => {
        this.failures++;
        this.firstError ??= error;
      }),
    );
  }

  /** Resolves when every queued task is done; throws if any failed. */
  async drained(): Promise<void> {
    await this.slots.onIdle();
    if (this.failures > 0)
      throw new Error(`inline provisioning failed for ${this.failures} tasks`, { cause: this.firstError });
  }

  private async provisionNow(taskId: string): Promise<void> {
    const name = `inline-${taskId}`;
    const response = await fetch(`${this.env.INSTANT_API_URI}/superadmin/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.env.INSTANT_PLATFORM_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: name }),
    });
    if (!response.ok) throw new Error(`create answered HTTP ${response.status}`);
    const { app } = (await response.json()) as { app: { id: string; 'admin-token': string } };
    const recordId = id();
    const { tx } = this.db;
    const at = Date.now();
    await this.db.transact(
      tx.databases[recordId]!.create({
        taskId,
        name,
        status: 'ready',
        instantAppId: app.id,
        adminToken: app['admin-token'],
        attempts: 1,
        createdAt: at,
        readyAt: at,
        generation: 1,
      }),
    );
    await this.db.transact(tx.tasks[taskId]!.link({ mainDatabase: recordId }));
  }
}
